package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestVisitorChangesInHistory: the visitor moves and then cancels their
// call through the manage link; the staff booking page's history shows
// both, by "visitor", with the move's times and nothing personal.
func TestVisitorChangesInHistory(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	id, manage := a.bookCall(tuesday9)
	manage = strings.TrimPrefix(manage, "https://consult.example")
	if rec := a.postForm(manage+"/reschedule", url.Values{"start": {wednesday10}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("reschedule: %d %s", rec.Code, rec.Body)
	}
	if rec := a.postForm(manage+"/cancel", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", rec.Code)
	}
	body := a.staffGet("/staff/bookings/"+strconv.FormatInt(id, 10), c).Body.String()
	m := regexp.MustCompile(`(?s)<table class="data" id="history".*?</table>`).FindString(body)
	for _, want := range []string{
		`<td data-label="Who">The visitor</td><td data-label="What">Moved the call</td><td data-label="Detail">from 2026-03-03T08:00:00.000Z to 2026-03-04T09:00:00.000Z</td>`,
		`<td data-label="Who">The visitor</td><td data-label="What">Cancelled the call</td>`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("history lacks %s:\n%s", want, m)
		}
	}
	if strings.Contains(m, "example.com") || strings.Contains(m, "Grace") {
		t.Errorf("the history names the visitor:\n%s", m)
	}
	if n := a.count(`SELECT COUNT(*) FROM audit WHERE actor = 'visitor' AND subject = 'booking:` + strconv.FormatInt(id, 10) + `'`); n != 2 {
		t.Fatalf("%d visitor entries in the audit log, want 2", n)
	}
}
