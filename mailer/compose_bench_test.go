package mailer

import (
	"testing"
)

func BenchmarkLeadMessages(b *testing.B) {
	c, _ := testComposer(b)
	l := testLead()
	for b.Loop() {
		if _, err := c.LeadMessages(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBookingMessages(b *testing.B) {
	c, _ := testComposer(b)
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
	c, _ := testComposer(b)
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
