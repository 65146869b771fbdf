package mailer

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReadableRemovesManageLinks makes a booking's mail with a real-length
// token and checks that what staff read holds it nowhere (not even across
// a folded calendar line), while the stored payload still sends it.
func TestReadableRemovesManageLinks(t *testing.T) {
	c, _ := testComposer(t)
	const token = "Ab3_x-9ZqLmN0pQrStUvWxYz0123456789abcdefGHI" // 43 characters, as handlers make them
	b := testBooking()
	b.Message = "Please call me. My old link was https://www.example.com/bookings/" + token + " by the way."
	m := bookingMail(b, ChangeCreated)
	m.ManageURL = "https://www.example.com/bookings/" + token
	m.ICSURL = m.ManageURL + "/invite.ics"
	rows, err := c.BookingMessages(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		sent, err := c.Render(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind == KindInvitation && !strings.Contains(sent.Text, token) {
			t.Errorf("%s: the message as sent lost its manage link", r.Kind)
		}
		read := Readable(r.Payload)
		if strings.Contains(string(read), token) || strings.Contains(string(read), token[:20]) {
			t.Errorf("%s: readable payload holds the token: %s", r.Kind, read)
		}
		var p payload
		if err := json.Unmarshal(read, &p); err != nil {
			t.Fatalf("%s: readable payload is not JSON: %v", r.Kind, err)
		}
		// The visitor's mail carries none of their text; the CEO's keeps
		// what they wrote.
		if p.Data == nil || p.Data.Name == "" || p.To.Address != r.Recipient ||
			(r.Recipient == m.CEO.Email && !strings.Contains(p.Data.Message, "Please call me")) {
			t.Errorf("%s: readable payload lost its content: %s", r.Kind, read)
		}
		if r.Kind == KindInvitation && (p.Data.ManageURL != LinkRemoved || !strings.Contains(p.Calendar, "/bookings/"+LinkRemoved)) {
			t.Errorf("%s: links not marked as removed: %s", r.Kind, read)
		}
		// A message rendered before it was queued (version 1) too.
		sent.template, sent.data = "", nil
		v1, err := sent.MarshalPayload()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(Readable(v1)), token) {
			t.Errorf("%s: rendered payload still holds the token", r.Kind)
		}
	}
	if got := string(Readable([]byte("not json /bookings/" + token))); got != "not json /bookings/"+LinkRemoved {
		t.Errorf("text payload: %s", got)
	}
}
