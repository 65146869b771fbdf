package leads_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"

	_ "github.com/mattn/go-sqlite3"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

// openStore opens the store on db, a database of leadstest.DB.
func openStore(t *testing.T, db string, c *clock) (*leads.Store, string) {
	t.Helper()
	path := db
	s, err := leads.Open(context.Background(), path, leads.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, path
}

// fixed returns a Compose that queues msgs.
func fixed(msgs ...leads.OutboxMessage) leads.Compose {
	return func(*leads.Lead) ([]leads.OutboxMessage, error) { return msgs, nil }
}

func validLead() *leads.Lead {
	return &leads.Lead{Name: " Ada  Lovelace ", Email: "ada@Example.COM", Company: "Analytical Engines",
		Phone: "+44 20 7946 0000", Message: "Hello\r\nthere  \r\n", Source: leads.SourceContact, ConsentVersion: "v1"}
}

func TestOpenAppliesMigrationsAndSettings(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		s, _ := openStore(t, db, newClock())
		raw := leadstest.Raw(t, db)
		var version int
		if err := raw.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil {
			t.Fatal(err)
		}
		if version != leads.SchemaVersion() || version < 1 {
			t.Fatalf("schema version %d, want %d", version, leads.SchemaVersion())
		}
		switch s.Engine() {
		case "sqlite":
			var mode string
			if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" {
				t.Fatalf("journal_mode %q, want wal", mode)
			}
		case "postgres":
			// The suite really talks to PostgreSQL, not to SQLite under
			// another name.
			var v string
			if err := raw.QueryRow("SELECT version()").Scan(&v); err != nil || !strings.HasPrefix(v, "PostgreSQL ") {
				t.Fatalf("version() = %q, %v: not a PostgreSQL server", v, err)
			}
			var tz string
			if err := raw.QueryRow("SELECT data_type FROM information_schema.columns WHERE table_name = 'leads' AND column_name = 'created_at'").Scan(&tz); err != nil || tz != "timestamp with time zone" {
				t.Fatalf("leads.created_at is %q (%v), want timestamptz", tz, err)
			}
		default:
			t.Fatalf("engine %q", s.Engine())
		}
		if want := map[bool]string{true: "postgres", false: "sqlite"}[leadstest.IsPostgres(db)]; s.Engine() != want {
			t.Fatalf("store on %s reports engine %q", want, s.Engine())
		}
	})
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		s, _ := openStore(t, db, newClock())
		s.Close()
		if _, err := leadstest.Raw(t, db).Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')"); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []leads.Options{{}, {NoMigrate: true}} {
			if _, err := leads.Open(context.Background(), db, opts); err == nil || !strings.Contains(err.Error(), "newer") {
				t.Fatalf("Open(%+v) of a schema newer than the binary: %v", opts, err)
			}
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		applied, version, err := leads.Migrate(context.Background(), db)
		if err != nil || applied != leads.SchemaVersion() || version != leads.SchemaVersion() {
			t.Fatalf("first Migrate: applied %d version %d err %v", applied, version, err)
		}
		applied, _, err = leads.Migrate(context.Background(), db)
		if err != nil || applied != 0 {
			t.Fatalf("second Migrate: applied %d err %v", applied, err)
		}
	})
}

// TestMigrateConcurrently starts several migrations of one empty database
// at once, as instances starting together do: each migration is applied
// once, and every instance ends on the latest schema.
func TestMigrateConcurrently(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		if !leadstest.IsPostgres(db) {
			t.Skip("SQLite has one writer; instances share a PostgreSQL database")
		}
		const n = 4
		var wg sync.WaitGroup
		applied := make([]int, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				applied[i], _, errs[i] = leads.Migrate(context.Background(), db)
			}()
		}
		wg.Wait()
		total := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("instance %d: %v", i, errs[i])
			}
			total += applied[i]
		}
		if total != leads.SchemaVersion() {
			t.Fatalf("%d migrations applied in all, want %d (each once)", total, leads.SchemaVersion())
		}
	})
}

// TestMigrationsMatch holds the two engines' migrations to the same
// numbers and names, so that a schema version means one thing.
func TestMigrationsMatch(t *testing.T) {
	names := func(engine string) []string {
		entries, err := os.ReadDir(filepath.Join("migrations", engine))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sq, pg := names("sqlite"), names("postgres")
	if strings.Join(sq, " ") != strings.Join(pg, " ") || len(sq) != leads.SchemaVersion() {
		t.Fatalf("migrations differ:\nsqlite:   %v\npostgres: %v (schema version %d)", sq, pg, leads.SchemaVersion())
	}
}

func TestCreateLeadNormalizesAndQueuesMail(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		l := validLead()
		msgs := []leads.OutboxMessage{
			{Kind: "lead_confirmation", Recipient: "ada@example.com", MessageID: "<1@x>", Payload: []byte("{}")},
			{Kind: "lead_notification", Recipient: "staff@example.com", MessageID: "<2@x>", Payload: []byte("{}")},
		}
		created, err := s.CreateLead(ctx, l, fixed(msgs...))
		if err != nil || !created {
			t.Fatalf("CreateLead: created %v err %v", created, err)
		}
		got, err := s.FindLead(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Ada Lovelace" || got.Email != "ada@example.com" || got.Message != "Hello\nthere" {
			t.Fatalf("stored %+v", got)
		}
		if !got.CreatedAt.Equal(c.Now()) || got.ConsentVersion != "v1" || !got.ConsentAt.Equal(c.Now()) {
			t.Fatalf("times/consent: %+v", got)
		}
		list, err := s.ListMail(ctx, leads.MailFilter{LeadID: l.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Status != leads.OutboxQueued {
			t.Fatalf("outbox: %+v", list)
		}
	})
}

func TestCreateLeadIdempotent(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		first := validLead()
		first.IdemKey = "k1"
		if _, err := s.CreateLead(ctx, first, fixed(leads.OutboxMessage{Kind: "k", Recipient: "r@x.io", MessageID: "<a@x>", Payload: []byte("{}")})); err != nil {
			t.Fatal(err)
		}
		again := validLead()
		again.IdemKey = "k1"
		created, err := s.CreateLead(ctx, again, fixed(leads.OutboxMessage{Kind: "k", Recipient: "r@x.io", MessageID: "<b@x>", Payload: []byte("{}")}))
		if err != nil || created || again.ID != first.ID {
			t.Fatalf("retry: created %v id %d (first %d) err %v", created, again.ID, first.ID, err)
		}
		if n, _ := s.CountLeads(ctx); n != 1 {
			t.Fatalf("%d leads, want 1", n)
		}
		st, err := s.MailStats(ctx)
		if err != nil || st.Queued != 1 {
			t.Fatalf("mail stats %+v err %v; the retry must queue nothing", st, err)
		}
	})
}

func TestCreateLeadConcurrentSameKey(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		var wg sync.WaitGroup
		ids := make([]int64, 20)
		errs := make([]error, 20)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := validLead()
				l.IdemKey = "same"
				_, errs[i] = s.CreateLead(ctx, l, nil)
				ids[i] = l.ID
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("goroutine %d: id %d (want %d) err %v", i, ids[i], ids[0], errs[i])
			}
		}
	})
}

func TestLeadValidate(t *testing.T) {
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name   string
		edit   func(l *leads.Lead)
		fields []string
	}{
		{"valid", func(l *leads.Lead) {}, nil},
		{"missing name", func(l *leads.Lead) { l.Name = "   " }, []string{"name"}},
		{"missing email", func(l *leads.Lead) { l.Email = "" }, []string{"email"}},
		{"bad email", func(l *leads.Lead) { l.Email = "not-an-email" }, []string{"email"}},
		{"display name email", func(l *leads.Lead) { l.Email = "Ada <ada@example.com>" }, []string{"email"}},
		{"dotless domain", func(l *leads.Lead) { l.Email = "ada@localhost" }, []string{"email"}},
		{"long name", func(l *leads.Lead) { l.Name = long(leads.MaxName + 1) }, []string{"name"}},
		{"long message", func(l *leads.Lead) { l.Message = long(leads.MaxMessage + 1) }, []string{"message"}},
		{"bad phone", func(l *leads.Lead) { l.Phone = "call me" }, []string{"phone"}},
		{"no consent", func(l *leads.Lead) { l.ConsentVersion = "" }, []string{"consent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := validLead()
			tt.edit(l)
			l.Normalize()
			err := l.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var le *leads.Error
			if !asError(err, &le) || le.Code != leads.EINVALID {
				t.Fatalf("want EINVALID, got %v", err)
			}
			for _, f := range tt.fields {
				if le.Fields[f] == "" {
					t.Errorf("no message for field %s in %v", f, le.Fields)
				}
			}
			if len(le.Fields) != len(tt.fields) {
				t.Errorf("fields %v, want only %v", le.Fields, tt.fields)
			}
		})
	}
}

func asError(err error, target **leads.Error) bool {
	e, ok := err.(*leads.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestNormalizeStripsControls(t *testing.T) {
	l := &leads.Lead{Name: "Eve\u202e\x00 \t\nMallory", Message: "a\x07b\r\nc\u2066"}
	l.Normalize()
	if l.Name != "Eve Mallory" || l.Message != "ab\nc" {
		t.Fatalf("got %q / %q", l.Name, l.Message)
	}
}

func TestOutboxClaimLeaseAndRetry(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		var msgs []leads.OutboxMessage
		for i := range 3 {
			msgs = append(msgs, leads.OutboxMessage{Kind: "k", Recipient: "r@x.io", MessageID: fmt.Sprintf("<%d@x>", i), Payload: []byte("{}")})
		}
		if err := s.QueueMail(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimMail(ctx, time.Minute, 2)
		if err != nil || len(got) != 2 || got[0].Attempts != 1 {
			t.Fatalf("claim: %d rows err %v", len(got), err)
		}
		// Leased rows are not claimed again until the lease runs out.
		again, err := s.ClaimMail(ctx, time.Minute, 10)
		if err != nil || len(again) != 1 {
			t.Fatalf("second claim: %d rows err %v", len(again), err)
		}
		if err := s.MarkMailSent(ctx, got[0].ID, got[0].Attempts); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailRetry(ctx, got[1].ID, got[1].Attempts, c.Now().Add(10*time.Minute), "451 try later"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailDead(ctx, again[0].ID, again[0].Attempts, "550 no such user"); err != nil {
			t.Fatal(err)
		}
		if rows, _ := s.ClaimMail(ctx, time.Minute, 10); len(rows) != 0 {
			t.Fatalf("claimed %d rows before they were due", len(rows))
		}
		next, ok, err := s.NextMailDue(ctx)
		if err != nil || !ok || !next.Equal(c.Now().Add(10*time.Minute)) {
			t.Fatalf("next due %v %v %v", next, ok, err)
		}
		c.Add(10 * time.Minute)
		rows, err := s.ClaimMail(ctx, time.Minute, 10)
		if err != nil || len(rows) != 1 || rows[0].ID != got[1].ID || rows[0].Attempts != 2 {
			t.Fatalf("retry claim: %+v err %v", rows, err)
		}
		// An expired lease (a worker that died) makes the row claimable again.
		stale := rows[0]
		c.Add(2 * time.Minute)
		rows, err = s.ClaimMail(ctx, time.Minute, 10)
		if err != nil || len(rows) != 1 || rows[0].Attempts != stale.Attempts+1 {
			t.Fatalf("claim after lease expiry: %+v err %v", rows, err)
		}
		// The worker whose lease ran out comes back: its outcome is fenced
		// off, and the newer claim's stands.
		if err := s.MarkMailSent(ctx, stale.ID, stale.Attempts); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("stale claim marked the message: %v", err)
		}
		if err := s.MarkMailRetry(ctx, rows[0].ID, rows[0].Attempts, c.Now(), "451 again"); err != nil {
			t.Fatalf("current claim: %v", err)
		}
		if err := s.RetryMail(ctx, again[0].ID); err != nil {
			t.Fatal(err)
		}
		st, err := s.MailStats(ctx)
		if err != nil || st.Sent != 1 || st.Queued != 2 || st.Dead != 0 {
			t.Fatalf("stats %+v err %v", st, err)
		}
		if err := s.MarkMailSent(ctx, 9999, 1); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("MarkMailSent of unknown row: %v", err)
		}
	})
}

// TestOutboxMarkSentAll records many deliveries in one call: each listed
// claim that is still the row's is marked sent, and the rest (a claim taken
// over, a row already sent, an unknown id) are reported and left alone.
func TestOutboxMarkSentAll(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		// More than one statement's worth, so that the list is cut in two.
		const n = 300
		var msgs []leads.OutboxMessage
		for i := range n {
			msgs = append(msgs, leads.OutboxMessage{Kind: "k", Recipient: "r@x.io", MessageID: fmt.Sprintf("<%d@x>", i), Payload: []byte("{}")})
		}
		if err := s.QueueMail(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		if stale, err := s.MarkMailSentAll(ctx, nil); err != nil || len(stale) != 0 {
			t.Fatalf("empty list: stale %v, err %v", stale, err)
		}
		got, err := s.ClaimMail(ctx, time.Minute, n)
		if err != nil || len(got) != n {
			t.Fatalf("claim: %d rows err %v", len(got), err)
		}
		// The first row's lease runs out and another worker claims it: the
		// first claim is stale.
		c.Add(2 * time.Minute)
		again, err := s.ClaimMail(ctx, time.Minute, 1)
		if err != nil || len(again) != 1 || again[0].ID != got[0].ID || again[0].Attempts != 2 {
			t.Fatalf("second claim: %+v err %v", again, err)
		}
		if err := s.MarkMailSent(ctx, got[1].ID, got[1].Attempts); err != nil {
			t.Fatal(err)
		}
		var claims []leads.MailClaim
		for _, m := range got {
			claims = append(claims, leads.MailClaim{ID: m.ID, Attempt: m.Attempts})
		}
		claims = append(claims, leads.MailClaim{ID: 99999, Attempt: 1})
		c.Add(time.Second)
		stale, err := s.MarkMailSentAll(ctx, claims)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{got[0].ID, got[1].ID, 99999}; fmt.Sprint(stale) != fmt.Sprint(want) {
			t.Fatalf("stale %v, want %v (the taken-over claim, the row sent already, the unknown id)", stale, want)
		}
		st, err := s.MailStats(ctx)
		if err != nil || st.Sent != n-1 || st.Queued != 1 {
			t.Fatalf("stats %+v err %v", st, err)
		}
		for _, m := range []leads.OutboxMessage{got[2], got[n-1]} {
			r, err := s.FindMail(ctx, m.ID)
			if err != nil || r.Status != leads.OutboxSent || !r.SentAt.Equal(c.Now()) || !r.LeaseUntil.IsZero() {
				t.Fatalf("row %d: %+v err %v", m.ID, r, err)
			}
		}
		// The newer claim of the first row stands, and its own mark counts.
		if r, err := s.FindMail(ctx, got[0].ID); err != nil || r.Status != leads.OutboxQueued || r.Attempts != 2 {
			t.Fatalf("taken-over row: %+v err %v", r, err)
		}
		if stale, err := s.MarkMailSentAll(ctx, []leads.MailClaim{{ID: again[0].ID, Attempt: again[0].Attempts}}); err != nil || len(stale) != 0 {
			t.Fatalf("current claim: stale %v err %v", stale, err)
		}
		if st, err := s.MailStats(ctx); err != nil || st.Sent != n || st.Queued != 0 {
			t.Fatalf("final stats %+v err %v", st, err)
		}
	})
}

func TestSecretStable(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		n := 0
		gen := func() ([]byte, error) { n++; return []byte(fmt.Sprintf("secret-%d", n)), nil }
		a, err := s.Secret(ctx, "form", gen)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Secret(ctx, "form", gen)
		if err != nil || string(a) != string(b) || n != 1 {
			t.Fatalf("secret changed: %q %q (gen called %d times) err %v", a, b, n, err)
		}
	})
}

// TestGroupCommitIsolatesFailures runs many writes at once, so that they
// share transactions, with every third one failing inside its work: the
// failures leave nothing behind and every other write is stored whole.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		const n = 90
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := validLead()
				l.Email = fmt.Sprintf("p%d@example.com", i)
				_, errs[i] = s.CreateLead(ctx, l, func(l *leads.Lead) ([]leads.OutboxMessage, error) {
					if i%3 == 0 {
						return nil, fmt.Errorf("compose %d failed", i)
					}
					return []leads.OutboxMessage{{Kind: "k", Recipient: l.Email, MessageID: fmt.Sprintf("<%d@x>", i), Payload: []byte("{}")}}, nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%3 == 0) != (err != nil) {
				t.Fatalf("write %d: err %v", i, err)
			}
		}
		if got, _ := s.CountLeads(ctx); got != n-n/3 {
			t.Fatalf("%d leads, want %d", got, n-n/3)
		}
		st, err := s.MailStats(ctx)
		if err != nil || st.Queued != n-n/3 {
			t.Fatalf("%d mails queued (err %v), want %d: a failed write left its outbox row", st.Queued, err, n-n/3)
		}
	})
}

func TestWriteAfterClose(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		s, err := leads.Open(context.Background(), db, leads.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateLead(context.Background(), validLead(), nil); err == nil {
			t.Fatal("write after Close succeeded")
		}
	})
}
