package handlers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaffFeedsListSkipped: /staff/feeds lists each part of a feed that
// could not be read, with its line, component, UID and reason, escaped.
func TestStaffFeedsListSkipped(t *testing.T) {
	feed := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20260303T100000Z\r\nDTEND:20260303T110000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:<b>backwards</b>\r\nDTSTART:20260304T100000Z\r\nDTEND:20260304T090000Z\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	path := filepath.Join(t.TempDir(), "busy.ics")
	if err := os.WriteFile(path, []byte(feed), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newApp(t, options{busy: []string{path}})
	a.addStaff()
	rec := a.staffGet("/staff/feeds", a.login(""))
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("/staff/feeds: %d %s", rec.Code, body)
	}
	for _, want := range []string{
		`<a href="#skipped-0">1</a>`,
		`<h2 id="skipped-0">Not understood in ` + path + `</h2>`,
		`<tr><td data-label="Line">9</td><td data-label="Component">VEVENT</td><td data-label="UID">&lt;b&gt;backwards&lt;/b&gt;</td><td data-label="What was done">it ends before it starts: skipped</td></tr>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/staff/feeds lacks %s:\n%s", want, body)
		}
	}
}
