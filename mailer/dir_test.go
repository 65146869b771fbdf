package mailer

import (
	"bytes"
	"context"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func emlFiles(t *testing.T, dir string) (eml, other []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
			eml = append(eml, e.Name())
		} else {
			other = append(other, e.Name())
		}
	}
	return eml, other
}

func TestDirSender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail") // created on first use
	d := DirSender{Dir: dir}
	m := testMessage(1, "zoe@example.org")
	m.Subject = "Grüße"
	ctx := context.Background()
	if err := d.Send(ctx, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	eml, other := emlFiles(t, dir)
	if len(eml) != 1 || len(other) != 0 {
		t.Fatalf("files: %v, other: %v", eml, other)
	}
	if !regexp.MustCompile(`^20260302T093000\.000000000Z-[0-9a-f]{16}\.eml$`).MatchString(eml[0]) || eml[0] != d.FileName(m) {
		t.Errorf("file name %q", eml[0])
	}
	raw, err := os.ReadFile(filepath.Join(dir, eml[0]))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse .eml: %v", err)
	}
	if msg.Header.Get("Message-ID") != m.MessageID || msg.Header.Get("Subject") != "=?UTF-8?q?Gr=C3=BC=C3=9Fe?=" {
		t.Errorf("headers: %v", msg.Header)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || to[0].Address != "zoe@example.org" {
		t.Errorf("To = %v, %v", to, err)
	}
	if body, _ := io.ReadAll(msg.Body); !bytes.Contains(body, []byte("Hello number 1.")) {
		t.Errorf("body: %s", body)
	}

	// Sending the same message again keeps one file; another adds one.
	if err := d.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(ctx, testMessage(2, "zoe@example.org")); err != nil {
		t.Fatal(err)
	}
	if eml, other := emlFiles(t, dir); len(eml) != 2 || len(other) != 0 {
		t.Errorf("after resend: files %v, other %v", eml, other)
	}
}

// TestDirSenderFailureCleansUp makes the final rename fail (a folder has
// the file's name) and checks that no temporary file stays behind.
func TestDirSenderFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	d := DirSender{Dir: dir}
	m := testMessage(1, "zoe@example.org")
	if err := os.MkdirAll(filepath.Join(dir, d.FileName(m), "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := d.Send(context.Background(), m)
	if err == nil {
		t.Fatal("Send succeeded over a folder")
	}
	if Permanent(err) {
		t.Errorf("a file system error is permanent: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != d.FileName(m) {
		t.Errorf("left behind: %v", entries)
	}

	if err := (DirSender{}).Send(context.Background(), m); err == nil {
		t.Error("Send with no folder succeeded")
	}
	bad := testMessage(2, "not an address")
	if err := d.Send(context.Background(), bad); !Permanent(err) {
		t.Errorf("Send of an invalid message = %v, want a permanent error", err)
	}
}

// TestDirSenderAtomic reads the folder while messages are written: every
// .eml seen is complete.
func TestDirSenderAtomic(t *testing.T) {
	dir := t.TempDir()
	d := DirSender{Dir: dir}
	big := strings.Repeat("A long line of text for a big message body.\n", 3000)
	want := map[string][]byte{}
	var msgs []*Message
	for i := range 10 {
		m := testMessage(i, "zoe@example.org")
		m.Text = big
		msgs = append(msgs, m)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var partial []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			eml, _ := emlFiles(t, dir)
			for _, name := range eml {
				raw, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					continue
				}
				if !bytes.HasSuffix(bytes.TrimRight(raw, "\r\n"), []byte("--")) {
					mu.Lock()
					partial = append(partial, name)
					mu.Unlock()
				}
			}
		}
	}()
	for _, m := range msgs {
		if err := d.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		want[d.FileName(m)] = nil
	}
	close(stop)
	wg.Wait()
	if len(partial) > 0 {
		t.Errorf("partial files seen: %v", partial)
	}
	eml, other := emlFiles(t, dir)
	if len(eml) != len(want) || len(other) != 0 {
		t.Errorf("%d .eml files (want %d), other files %v", len(eml), len(want), other)
	}
}
