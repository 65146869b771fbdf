package mailer

import (
	"net/mail"
	"testing"
)

func BenchmarkLeadMessages(b *testing.B) {
	c, err := NewComposer(mail.Address{Address: "bookings@example.com"}, mail.Address{Address: "sales@example.com"}, "https://www.example.com", "Example")
	if err != nil {
		b.Fatal(err)
	}
	l := testLead()
	for b.Loop() {
		if _, err := c.LeadMessages(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBookingMessages(b *testing.B) {
	c, err := NewComposer(mail.Address{Address: "bookings@example.com"}, mail.Address{Address: "sales@example.com"}, "https://www.example.com", "Example")
	if err != nil {
		b.Fatal(err)
	}
	bk := testBooking()
	for b.Loop() {
		if _, err := c.BookingMessages(bookingMail(bk, ChangeCreated)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendLeadMessages is what the outbox worker does with a lead's
// two messages before it hands them to the sender: render each draft and
// write it as MIME.
func BenchmarkSendLeadMessages(b *testing.B) {
	c, err := NewComposer(mail.Address{Address: "bookings@example.com"}, mail.Address{Address: "sales@example.com"}, "https://www.example.com", "Example")
	if err != nil {
		b.Fatal(err)
	}
	rows, err := c.LeadMessages(testLead())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rows {
			m, err := c.Render(r.Payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
