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
