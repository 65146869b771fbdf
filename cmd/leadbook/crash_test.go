package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// built is the binary that the tests of this package build once and
// share; TestMain removes it.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// buildBinary builds leadbook into a temporary folder, once per test
// binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "leadbook-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "leadbook")
		cmd := exec.Command("go", "build", "-o", built.bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

// proc is one run of the real binary.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan error
}

func startBinary(t *testing.T, bin string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-urls:
		return p
	case err := <-p.done:
		t.Fatalf("leadbook exited at start: %v\n%s", err, p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("leadbook did not start\n%s", p.stderr.String())
	}
	return nil
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop ends the process with SIGTERM and wants a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("leadbook exited with %v\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("leadbook did not stop on SIGTERM")
	}
}

// ack is one write the server acknowledged.
type ack struct {
	email     string // contact leads: unique per submission
	bookingID int64  // bookings
}

// TestCrashLosesNothing runs the real binary under concurrent lead and
// booking submissions, kills it with SIGKILL in the middle, and restarts it
// on the same database, several times. Every acknowledged lead and booking
// must be there with its mail, the database must pass its integrity check,
// and after the last restart every queued message must be delivered, each
// exactly once (one .eml per Message-ID).
func TestCrashLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "leadbook.db")
	mailDir := filepath.Join(dir, "mail")
	env := map[string]string{
		"LEADBOOK_ADDR":             "127.0.0.1:0",
		"LEADBOOK_DB":               db,
		"LEADBOOK_MAIL_DIR":         mailDir,
		"LEADBOOK_MIN_FILL_SECONDS": "0",
		"LEADBOOK_RATE_LIMIT":       "0",
		"LEADBOOK_HOURS":            "mon-sun 00:00-24:00",
		"LEADBOOK_SLOT_MINUTES":     "5",
		"LEADBOOK_MIN_NOTICE":       "0s",
		"LEADBOOK_HORIZON_DAYS":     "60",
		"LEADBOOK_REMINDER":         "0",
		"LEADBOOK_LOG_FORMAT":       "json",
		// Messages the killed process had claimed wait for their lease.
		"LEADBOOK_MAIL_LEASE": "1s",

		// Every booking comes from loopback.
		"LEADBOOK_BOOKINGS_PER_ADDRESS_DAY": "0",
	}
	const rounds, workers = 5, 12
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var (
		mu    sync.Mutex
		acks  []ack
		sent  atomic.Int64 // requests sent, acknowledged or not
		acked atomic.Int64 // len(acks), read without the lock
	)
	for r := 0; r < rounds; r++ {
		p := startBinary(t, bin, env)
		// Distinct days per round, so that bookings never compete.
		from := time.Now().UTC().AddDate(0, 0, 1+r*3)
		slots := fetchSlots(t, client, p.url, from, from.AddDate(0, 0, 3))
		var next atomic.Int64
		stopLoad := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stopLoad:
						return
					default:
					}
					sent.Add(1)
					if (w+i)%3 != 0 {
						email := fmt.Sprintf("crash-r%d-w%d-%d@example.com", r, w, i)
						body := fmt.Sprintf(`{"name":"Crash Test","email":%q,"message":"round %d","consent":true}`, email, r)
						if code, _ := post(client, p.url+"/contact", body); code == http.StatusCreated {
							mu.Lock()
							acks = append(acks, ack{email: email})
							mu.Unlock()
							acked.Add(1)
						}
						continue
					}
					n := int(next.Add(1)) - 1
					if n >= len(slots) {
						continue
					}
					body := fmt.Sprintf(`{"start":%q,"name":"Crash Booker","email":"booker-r%d-%d@example.com","consent":true,"tz":"UTC"}`,
						slots[n], r, n)
					code, resp := post(client, p.url+"/book", body)
					if code == http.StatusCreated {
						var b struct{ ID int64 }
						if err := json.Unmarshal(resp, &b); err != nil || b.ID == 0 {
							t.Errorf("booking answer %s: %v", resp, err)
							continue
						}
						mu.Lock()
						acks = append(acks, ack{bookingID: b.ID})
						mu.Unlock()
						acked.Add(1)
					}
				}
			}()
		}
		// Kill after a random number of acknowledged writes, so that each
		// round proves as much on a slow machine as on a fast one, with a
		// time limit in case the server stalls.
		target := acked.Load() + 300 + rand.Int64N(300)
		for limit := time.Now().Add(15 * time.Second); acked.Load() < target && time.Now().Before(limit); {
			time.Sleep(2 * time.Millisecond)
		}
		p.kill(t)
		close(stopLoad)
		wg.Wait()
		client.CloseIdleConnections()
		checkAcked(t, db, acks, false)
	}

	// The last restart delivers whatever the kills left queued.
	p := startBinary(t, bin, env)
	deadline := time.Now().Add(60 * time.Second)
	for queued(t, db) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued a minute after the restart", queued(t, db))
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(t)
	rows := checkAcked(t, db, acks, true)
	files := mailFiles(t, mailDir)
	for id, n := range files {
		if n != 1 {
			t.Errorf("Message-ID %s delivered %d times", id, n)
		}
	}
	for _, id := range rows {
		if files[id] == 0 {
			t.Errorf("outbox message %s was never delivered", id)
		}
	}
	var leadsN, bookingsN int
	for _, a := range acks {
		if a.email != "" {
			leadsN++
		} else {
			bookingsN++
		}
	}
	t.Logf("%d rounds of SIGKILL: %d requests sent, %d acknowledged writes checked (%d leads, %d bookings), 0 lost; %d outbox messages all delivered once",
		rounds, sent.Load(), len(acks), leadsN, bookingsN, len(rows))
	if len(acks) < 1000 {
		t.Errorf("only %d acknowledged writes: the test proves too little", len(acks))
	}
}

func post(c *http.Client, url, body string) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		// An answer cut short is not an acknowledgement.
		return 0, nil
	}
	return res.StatusCode, b
}

func fetchSlots(t *testing.T, c *http.Client, base string, from, to time.Time) []string {
	t.Helper()
	res, err := c.Get(base + "/api/slots?from=" + from.Format("2006-01-02") + "&to=" + to.Format("2006-01-02") + "&tz=UTC")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct{ Slots []struct{ Start string } }
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil || len(ans.Slots) == 0 {
		t.Fatalf("slots: %d, %v", len(ans.Slots), err)
	}
	out := make([]string, len(ans.Slots))
	for i, s := range ans.Slots {
		out[i] = s.Start
	}
	return out
}

func openRO(t *testing.T, db string) *sql.DB {
	t.Helper()
	d, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func queued(t *testing.T, db string) int {
	t.Helper()
	d := openRO(t, db)
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM outbox WHERE status = 'queued'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkAcked checks the database after a kill: integrity, and every
// acknowledged lead and booking present with its queued mail (all of it
// sent when delivered is true). It returns the Message-IDs of the outbox.
func checkAcked(t *testing.T, db string, acks []ack, delivered bool) []string {
	t.Helper()
	d := openRO(t, db)
	defer d.Close()
	var integrity string
	if err := d.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q, %v", integrity, err)
	}
	// Mail rows per lead email and per booking.
	byEmail := map[string]int{}
	byBooking := map[int64]int{}
	var ids []string
	rows, err := d.Query(`SELECT l.email, COALESCE(o.booking_id, 0), o.status, o.message_id
		FROM outbox o JOIN leads l ON l.id = o.lead_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			email, status, id string
			booking           int64
		)
		if err := rows.Scan(&email, &booking, &status, &id); err != nil {
			t.Fatal(err)
		}
		if delivered && status != "sent" {
			t.Errorf("outbox %s is %s after the restart", id, status)
		}
		if booking != 0 {
			byBooking[booking]++
		} else {
			byEmail[email]++
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	var bookings map[int64]bool = map[int64]bool{}
	brows, err := d.Query(`SELECT id FROM bookings WHERE status = 'confirmed'`)
	if err != nil {
		t.Fatal(err)
	}
	for brows.Next() {
		var id int64
		if err := brows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		bookings[id] = true
	}
	brows.Close()
	lost := 0
	for _, a := range acks {
		switch {
		case a.email != "" && byEmail[a.email] < 2:
			lost++
			if lost < 10 {
				t.Errorf("acknowledged lead %s: %d mail rows, want the confirmation and the staff notification", a.email, byEmail[a.email])
			}
		case a.email == "" && (!bookings[a.bookingID] || byBooking[a.bookingID] < 2):
			lost++
			if lost < 10 {
				t.Errorf("acknowledged booking %d: present %v, %d mail rows", a.bookingID, bookings[a.bookingID], byBooking[a.bookingID])
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acks))
	}
	return ids
}

// mailFiles counts the .eml files in dir by Message-ID.
func mailFiles(t *testing.T, dir string) map[string]int {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[m.Header.Get("Message-ID")]++
	}
	return out
}
