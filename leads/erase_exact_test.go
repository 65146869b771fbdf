package leads_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// mailJSON is an outbox payload shaped as the mailer's drafts are: the
// message in the data, the address in To, and (for invitations) a calendar
// whose long DESCRIPTION line is folded.
func mailJSON(t *testing.T, to, message string, withCalendar bool) []byte {
	t.Helper()
	p := map[string]any{
		"v": 2, "to": map[string]string{"address": to}, "template": "lead_confirmation",
		"data": map[string]string{"email": to, "message": message},
	}
	if withCalendar {
		line := "DESCRIPTION:Topic: " + strings.ReplaceAll(message, "\n", `\n`)
		var folded strings.Builder
		for len(line) > 30 {
			folded.WriteString(line[:30] + "\r\n ")
			line = line[30:]
		}
		folded.WriteString(line)
		p["calendar"] = "BEGIN:VCALENDAR\r\n" + folded.String() + "\r\nEND:VCALENDAR\r\n"
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exactWorld is bob, jimbob (whose address contains bob's) and carol (whose
// message mentions bob, and jimbob, and bob's look-alikes), each with a
// lead, mail, a future call and a held submission.
type exactWorld struct {
	s   *leads.Store
	raw *sql.DB
}

const (
	bob    = "bob@example.com"
	jimbob = "jimbob@example.com"
	carol  = "carol@example.com"
	// carolSays mentions bob twice (once in another letter case), and
	// addresses that merely contain his.
	carolSays = "Please loop in Bob@Example.COM and bob@example.com.\n" +
		"Not jimbob@example.com, nor bob@example.com.au, nor x.bob@example.com."
	carolAfter = "Please loop in [erased] and [erased].\n" +
		"Not jimbob@example.com, nor bob@example.com.au, nor x.bob@example.com."
)

func newExactWorld(t *testing.T, db string) *exactWorld {
	t.Helper()
	ctx := context.Background()
	c := newClock()
	s := openStaffStore(t, db, c)
	w := &exactWorld{s: s, raw: leadstest.Raw(t, db)}
	for i, p := range []struct{ email, message string }{
		{bob, "hello from bob"},
		{jimbob, "hello from jim bob, jimbob@example.com"},
		{carol, carolSays},
	} {
		l := &leads.Lead{Name: "Person " + p.email, Email: p.email, Message: p.message, Source: leads.SourceContact, ConsentVersion: "v1"}
		compose := func(l *leads.Lead) ([]leads.OutboxMessage, error) {
			return []leads.OutboxMessage{
				{Kind: "lead_confirmation", Recipient: l.Email, MessageID: fmt.Sprintf("<c%d@x>", i), Payload: mailJSON(t, l.Email, l.Message, false)},
				{Kind: "lead_notification", Recipient: "staff@example.com", MessageID: fmt.Sprintf("<n%d@x>", i), Payload: mailJSON(t, "staff@example.com", l.Message, false)},
			}, nil
		}
		if _, err := s.CreateLead(ctx, l, compose); err != nil {
			t.Fatal(err)
		}
		nb := newBooking(c.Now().Add(time.Duration(48+i)*time.Hour), p.email, fmt.Sprintf("uid-%d", i))
		nb.Message, nb.Lead.Name = p.message, l.Name
		invite := func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
			return []leads.OutboxMessage{
				{Kind: "invitation", Recipient: l.Email, MessageID: fmt.Sprintf("<i%d-%d@x>", i, b.Sequence), Payload: mailJSON(t, l.Email, b.Message, true)},
				{Kind: "invitation_ceo", Recipient: "ceo@example.com", MessageID: fmt.Sprintf("<ic%d-%d@x>", i, b.Sequence), Payload: mailJSON(t, "ceo@example.com", b.Message, true)},
			}, nil
		}
		if _, _, err := s.CreateBooking(ctx, nb, nil, invite); err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]string{"email": p.email, "message": p.message})
		if err := s.HoldSpam(ctx, &leads.Spam{Form: "contact", Reason: "honeypot", Email: p.email, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *exactWorld) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rows returns "table:id:text" for every row of the tables erasure
// touches, to compare before and after.
func (w *exactWorld) rows(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range []string{
		`SELECT 'lead:' || id, name || '|' || email || '|' || message FROM leads`,
		`SELECT 'booking:' || id, lead_id || '|' || message || '|' || status FROM bookings`,
		`SELECT 'mail:' || id, recipient || '|' || payload FROM outbox`,
		`SELECT 'spam:' || id, payload FROM spam`,
	} {
		rows, err := w.raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
		rows.Close()
	}
	return out
}

func TestEraseAndExportMatchTheExactAddress(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		w := newExactWorld(t, db)

		// The export holds bob's rows and no one else's.
		p, err := w.s.FindPerson(ctx, " Bob@EXAMPLE.com ")
		if err != nil {
			t.Fatal(err)
		}
		if p.Email != "Bob@example.com" || len(p.Leads) != 1 || len(p.Bookings) != 1 || len(p.Mail) != 4 || len(p.Spam) != 1 {
			t.Fatalf("export for bob: %d leads, %d bookings, %d mails, %d held; email %q",
				len(p.Leads), len(p.Bookings), len(p.Mail), len(p.Spam), p.Email)
		}
		body, _ := json.Marshal(p)
		for _, other := range []string{jimbob, carol, "jim bob", "loop in"} {
			if strings.Contains(strings.ToLower(string(body)), other) {
				t.Errorf("bob's export holds %q", other)
			}
		}

		before := w.rows(t)
		er, err := w.s.EraseEmail(ctx, "bob@example.com", leads.Actor{Kind: "staff", ID: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		after := w.rows(t)
		if er.Counts.Leads != 1 || er.Counts.Bookings != 1 || er.Counts.Mail != 4 || er.Counts.Spam != 1 {
			t.Errorf("counts %+v", er.Counts)
		}
		// Carol's lead, booking, four mails and held submission mention bob:
		// seven rows redacted, none deleted.
		if er.Counts.Mentions != 7 {
			t.Errorf("%d rows redacted, want 7", er.Counts.Mentions)
		}
		for k, v := range before {
			bobs := strings.HasPrefix(v, "Person "+bob) || strings.HasPrefix(v, bob+"|") || strings.Contains(v, "hello from bob")
			got, kept := after[k]
			switch {
			case bobs && kept:
				t.Errorf("%s of bob's was kept: %s", k, got)
			case bobs:
			case !kept:
				t.Errorf("%s (not bob's) was deleted: %s", k, v)
			case strings.Contains(v, "loop in"):
				// Carol's text: only the mentions of bob changed.
				if strings.Contains(got, "loop in") && !strings.Contains(got, "Please loop in [erased] and [erased].") {
					t.Errorf("%s not redacted as wanted: %s", k, got)
				}
				for _, keep := range []string{"Not jimbob@example.com", "nor bob@example.com.au", "nor x.bob@example.com"} {
					if !strings.Contains(unfold(got), keep) {
						t.Errorf("%s lost %q: %s", k, keep, got)
					}
				}
				if strings.Contains(strings.ToLower(unfold(got)), "in bob@") || strings.Contains(strings.ToLower(unfold(got)), "and bob@") {
					t.Errorf("%s still mentions bob: %s", k, got)
				}
			case got != v:
				t.Errorf("%s changed:\n%s\n%s", k, v, got)
			}
		}
		var msg string
		if err := w.raw.QueryRow(`SELECT message FROM leads WHERE email = $1`, carol).Scan(&msg); err != nil || msg != carolAfter {
			t.Errorf("carol's message %q, %v", msg, err)
		}
		// Her invitations' calendars were folded across bob's address; the
		// redacted payloads are still the JSON the mailer reads.
		rows, err := w.raw.Query(`SELECT o.payload FROM outbox o JOIN leads l ON l.id = o.lead_id
			WHERE l.email = $1 AND o.kind LIKE 'invitation%'`, carol)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		invitations := 0
		for rows.Next() {
			var payload string
			if err := rows.Scan(&payload); err != nil {
				t.Fatal(err)
			}
			var v struct {
				Calendar string            `json:"calendar"`
				Data     map[string]string `json:"data"`
			}
			if err := json.Unmarshal([]byte(payload), &v); err != nil {
				t.Fatalf("payload no longer JSON: %v", err)
			}
			if v.Data["message"] != carolAfter {
				t.Errorf("data.message %q", v.Data["message"])
			}
			if cal := unfold(v.Calendar); !strings.Contains(cal, "Topic: "+strings.ReplaceAll(carolAfter, "\n", `\n`)) {
				t.Errorf("calendar not redacted: %q", cal)
			}
			invitations++
		}
		if invitations != 2 {
			t.Errorf("%d invitations of carol's checked", invitations)
		}
		if w.count(t, `SELECT COUNT(*) FROM leads WHERE email IN ($1, $2)`, jimbob, carol) != 2 ||
			w.count(t, `SELECT COUNT(*) FROM outbox WHERE recipient = $1`, jimbob) != 2 ||
			w.count(t, `SELECT COUNT(*) FROM spam WHERE email IN ($1, $2)`, jimbob, carol) != 2 {
			t.Error("jimbob's or carol's rows went")
		}
	})
}

func unfold(s string) string {
	return strings.NewReplacer("\r\n ", "", "\r\n\t", "", `\r\n `, "").Replace(s)
}

func TestEraseAndExportRefuseAnythingButOneAddress(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		w := newExactWorld(t, db)
		before := w.rows(t)
		for _, bad := range []string{"", "   ", "@", "%", "_", "%@%", "bob", "@example.com", "bob@", "bob@example",
			"bob@example.com, jimbob@example.com", "Bob <bob@example.com>", "b_b@%.com", "bob@exa%.com"} {
			if _, err := w.s.EraseEmail(ctx, bad, leads.Actor{Kind: "staff", ID: 1}, nil); leads.ErrorCode(err) != leads.EINVALID {
				t.Errorf("erase %q: %v, want invalid", bad, err)
			} else if e := err.(*leads.Error); e.Fields["email"] == "" {
				t.Errorf("erase %q: no field error: %v", bad, err)
			}
			if _, err := w.s.FindPerson(ctx, bad); leads.ErrorCode(err) != leads.EINVALID {
				t.Errorf("export %q: %v, want invalid", bad, err)
			}
		}
		after := w.rows(t)
		if len(after) != len(before) {
			t.Fatalf("%d rows before, %d after", len(before), len(after))
		}
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s changed", k)
			}
		}
		if n := w.count(t, `SELECT COUNT(*) FROM erasures`); n != 0 {
			t.Errorf("%d erasures recorded", n)
		}
	})
}

// TestSpamAddressBackfill runs the migration that gave held submissions
// their address over rows held before it. SQLite only: no PostgreSQL
// database predates the column (the engine came after it), so its
// migration has nothing to fill.
func TestSpamAddressBackfill(t *testing.T) {
	c := newClock()
	s, path := openStore(t, leadstest.DB(t, "sqlite"), c)
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP INDEX spam_email_key`, `ALTER TABLE spam DROP COLUMN email`,
		`INSERT INTO spam (created_at, form, reason, payload) VALUES
			('2026-03-01T00:00:00.000Z', 'contact', 'honeypot', '{"email":" bob@example.com\t","message":"hi"}'),
			('2026-03-01T00:00:00.000Z', 'contact', 'honeypot', '{"message":"no address"}'),
			('2026-03-01T00:00:00.000Z', 'contact', 'honeypot', 'not json bob@example.com'),
			('2026-03-01T00:00:00.000Z', 'contact', 'honeypot', '{"email":42}')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Later migrations are applied already: run this one's text again
	// over the rows held before it.
	migration, err := os.ReadFile(filepath.Join("migrations", "sqlite", "0003_privacy.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(migration)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = leads.Open(context.Background(), path, leads.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.FindPerson(context.Background(), "BOB@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spam) != 1 || !strings.Contains(p.Spam[0].Payload, `"hi"`) {
		t.Fatalf("held submissions found by address: %+v", p.Spam)
	}
}

// TestEraseNonASCIIAddress erases an address with a capital letter outside
// ASCII: letters compare in ASCII case only, on both engines, so the
// person's rows and the mentions of their address in another's go, and
// the same address in another case of that letter is someone else's.
func TestEraseNonASCIIAddress(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s := openStaffStore(t, db, newClock())
		for _, l := range []*leads.Lead{
			{Name: "Émile", Email: "Émile@example.com", Message: "bonjour"},
			{Name: "Other", Email: "other@example.com", Message: "Write to ÉMILE@example.com, not émile@example.com."},
		} {
			l.Source, l.ConsentVersion = leads.SourceContact, "v1"
			if _, err := s.CreateLead(ctx, l, nil); err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.FindPerson(ctx, "émile@example.com")
		if err != nil || len(p.Leads) != 0 {
			t.Fatalf("another letter case outside ASCII found %+v, %v", p, err)
		}
		er, err := s.EraseEmail(ctx, "Émile@Example.com", leads.Actor{Kind: "staff", ID: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if er.Counts.Leads != 1 || er.Counts.Mentions != 1 {
			t.Errorf("counts %+v", er.Counts)
		}
		var msg string
		if err := leadstest.Raw(t, db).QueryRow(`SELECT message FROM leads WHERE email = $1`, "other@example.com").Scan(&msg); err != nil {
			t.Fatal(err)
		}
		if want := "Write to [erased], not émile@example.com."; msg != want {
			t.Errorf("the other lead's message is %q, want %q", msg, want)
		}
	})
}
