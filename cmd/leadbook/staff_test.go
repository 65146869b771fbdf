package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"leadbook/leads/leadstest"
)

// cli runs one leadbook command against db and returns its stdout.
func cli(t *testing.T, db, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	mailDir := filepath.Join(filepath.Dir(db), "mail")
	if leadstest.IsPostgres(db) {
		mailDir = filepath.Join(t.TempDir(), "mail")
	}
	env := envOf(map[string]string{"LEADBOOK_DB": db, "LEADBOOK_MAIL_DIR": mailDir})
	err := run(context.Background(), append([]string{"leadbook"}, args...), env, strings.NewReader(stdin), &stdout, io.Discard)
	return stdout.String(), err
}

func TestStaffCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	if _, err := cli(t, db, "", "staff", "add", "dana@example.com"); err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Fatalf("add without --password-stdin: %v", err)
	}
	out, err := cli(t, db, "a very long password\n", "staff", "add", "dana@example.com", "--password-stdin")
	if err != nil || !strings.Contains(out, "added staff 1 dana@example.com") {
		t.Fatalf("add: %q %v", out, err)
	}
	if out, _ := cli(t, db, "", "staff", "list"); !strings.Contains(out, "dana@example.com") {
		t.Fatalf("list: %q", out)
	}
	conn, _ := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	defer conn.Close()
	var hash string
	if err := conn.QueryRow(`SELECT password_hash FROM staff`).Scan(&hash); err != nil || !strings.HasPrefix(hash, "$argon2id$") ||
		strings.Contains(hash, "a very long password") {
		t.Fatalf("stored %q, %v", hash, err)
	}
	if _, err := cli(t, db, "another long password\r\n", "staff", "passwd", "dana@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, db, "", "staff", "remove", "dana@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, db, "", "staff", "remove", "dana@example.com"); err == nil {
		t.Fatal("second remove succeeded")
	}
	if out, err := cli(t, db, "", "audit", "verify"); err != nil || !strings.Contains(out, "intact: 3 entries") {
		t.Fatalf("audit verify: %q %v", out, err)
	}
}

func TestTokenWorksAsBearerUntilRevoked(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	out, err := cli(t, db, "", "token", "create", "crm")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.SplitN(out, "\n", 2)[0]
	if !strings.HasPrefix(token, "lb_") {
		t.Fatalf("output %q", out)
	}
	url, stop := startRun(t, map[string]string{"LEADBOOK_DB": db, "LEADBOOK_MIN_FILL_SECONDS": "0"})
	res, err := http.Post(url+"/contact", "application/json",
		strings.NewReader(`{"name":"Ada","email":"ada@example.com","message":"=cmd","consent":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	export := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url+"/staff/leads.csv", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := export(token)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(recs) != 2 || recs[1][6] != "'=cmd" {
		t.Fatalf("export with token: %d %q %v", code, body, err)
	}
	if code, body := export(token + "x"); code != 401 || strings.Contains(body, "ada@example.com") {
		t.Fatalf("wrong token: %d", code)
	}
	if _, err := cli(t, db, "", "token", "revoke", "crm"); err != nil {
		t.Fatal(err)
	}
	if code, _ := export(token); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	if out, _ := cli(t, db, "", "token", "list"); !strings.Contains(out, "revoked") || strings.Contains(out, token) {
		t.Fatalf("list: %q", out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The CLI export writes the same CSV.
	out, err = cli(t, db, "", "export", "--from", "2000-01-01")
	if err != nil || !strings.Contains(out, "'=cmd") || !strings.HasPrefix(out, "id,created_at,name,email,company,phone,message,source") {
		t.Fatalf("cli export: %q %v", out, err)
	}
	if _, err := cli(t, db, "", "export", "--from", "yesterday"); err == nil {
		t.Fatal("bad --from accepted")
	}
}

func TestAuditVerifyNamesTheBadEntry(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cli(t, db, "", "token", "create", name); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := sql.Open("sqlite3", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `UPDATE audit SET actor = 'staff:9' WHERE id = 2`} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_, err = cli(t, db, "", "audit", "verify")
	if err == nil || !strings.Contains(err.Error(), "audit entry 2") {
		t.Fatalf("verify after an edit: %v", err)
	}
}
