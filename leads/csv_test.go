package leads_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

func TestGuardCell(t *testing.T) {
	tests := map[string]string{
		"":                 "",
		"plain":            "plain",
		"=1+2":             "'=1+2",
		"+44 20 7946 0000": "'+44 20 7946 0000",
		"-2":               "'-2",
		"@SUM(A1)":         "'@SUM(A1)",
		"\tx":              "'\tx",
		"\rx":              "'\rx",
		"a=b":              "a=b",
		"'=already":        "'=already",
		"日本語":              "日本語",
	}
	for in, want := range tests {
		if got := leads.GuardCell(in); got != want {
			t.Errorf("GuardCell(%q) = %q, want %q", in, got, want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCSVEncoderReturnsWriteError(t *testing.T) {
	enc := leads.NewCSVEncoder(failWriter{}, false)
	if err := enc.Encode(&leads.Lead{ID: 1, Name: "x"}); err != nil {
		t.Fatalf("Encode buffers, got %v", err)
	}
	if err := enc.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
}

func TestCSVEncoderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	enc := leads.NewCSVEncoder(&buf, true)
	at := time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)
	l := &leads.Lead{ID: 7, CreatedAt: at, Name: "=HYPERLINK(\"x\")", Email: "a@b.example", Company: "Q, \"R\"\nS",
		Phone: "+1 555", Message: "line1\r\nline2", Source: "contact", ConsentVersion: "v1", ConsentAt: at,
		Status: "qualified", OwnerEmail: "=owner@example.com", NextStepAt: "2026-12-01",
		Attribution: leads.Attribution{Article: "cto-vs-cio", LandingPage: "/articles/cto-vs-cio", Referrer: "https://news.example/x",
			UTMSource: "=cmd", UTMMedium: "email", UTMCampaign: "winter", UTMTerm: "cto", UTMContent: "top"}}
	if err := enc.Encode(l); err != nil {
		t.Fatal(err)
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\uFEFFid,created_at,") || !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("output %q", out)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"7", "2026-11-27T08:30:00.000Z", "'=HYPERLINK(\"x\")", "a@b.example", "Q, \"R\"\nS", "'+1 555", "line1\nline2",
		"contact", "v1", "2026-11-27T08:30:00.000Z", "qualified", "'=owner@example.com", "2026-12-01",
		"cto-vs-cio", "/articles/cto-vs-cio", "https://news.example/x", "'=cmd", "email", "winter", "cto", "top", ""}
	if len(recs) != 2 || strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Fatalf("records %q\nwant %q", recs, want)
	}
}

// FuzzCSVCell checks the guard on any text: the cell it makes never starts
// with a formula trigger, and it comes back unchanged through encoding/csv.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+", "-", "@", "\t", "\r", "\r\n", "a,b", `"q"`, "日本語", "🙂", "'", "\n=x", "=\"a\"\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := leads.GuardCell(s)
		if g != "" && strings.ContainsRune("=+-@\t\r", rune(g[0])) {
			t.Fatalf("GuardCell(%q) = %q starts with a trigger", s, g)
		}
		if g != s && g != "'"+s {
			t.Fatalf("GuardCell(%q) = %q changed more than a leading apostrophe", s, g)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.UseCRLF = true
		if err := w.Write([]string{g, "x"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("read back %q: %v", buf.String(), err)
		}
		// With UseCRLF, encoding/csv writes every line break as CRLF and
		// drops carriage returns from inside cells; reading turns CRLF back
		// into LF. So the cell comes back without its CRs, and still guarded.
		want := strings.ReplaceAll(g, "\r", "")
		if len(recs) != 1 || len(recs[0]) != 2 || recs[0][0] != want {
			t.Fatalf("round trip of %q: got %q", g, recs)
		}
		if got := recs[0][0]; got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("cell read back as %q starts with a trigger", got)
		}
	})
}

// TestExportUnguarded exports a lead whose every kind of text cell starts
// with a formula trigger: guarded, each gets its apostrophe; unguarded (a
// script's export), each is written as stored.
func TestExportUnguarded(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		l := &leads.Lead{Name: "Ada", Email: "ada@example.com", Phone: "+44 20 7946 0000", Message: "hi",
			Source: leads.SourceContact, ConsentVersion: "v1",
			Attribution: leads.Attribution{UTMSource: "=src", UTMCampaign: "-winter", LandingPage: "/"}}
		if _, err := s.CreateLead(ctx, l, nil); err != nil {
			t.Fatal(err)
		}
		for _, raw := range []bool{false, true} {
			var buf bytes.Buffer
			if _, err := s.ExportCSV(ctx, &buf, leads.ExportFilter{Unguarded: raw}, false); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil || len(recs) != 2 {
				t.Fatalf("export: %v %q", err, recs)
			}
			cell := map[string]string{}
			for i, name := range recs[0] {
				cell[name] = recs[1][i]
			}
			mark := "'"
			if raw {
				mark = ""
			}
			for col, v := range map[string]string{"phone": "+44 20 7946 0000", "utm_source": "=src", "utm_campaign": "-winter"} {
				if cell[col] != mark+v {
					t.Errorf("unguarded %v: %s = %q, want %q", raw, col, cell[col], mark+v)
				}
			}
		}
	})
}
