package handlers_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestBookOldZoneNames: the names browsers still report are accepted and
// shown under the name in use, and zones outside the old short list are
// offered, not replaced by UTC.
func TestBookOldZoneNames(t *testing.T) {
	a := newApp(t, options{})
	tests := []struct{ tz, want, label string }{
		{"Asia/Calcutta", "Asia/Kolkata", "India Standard Time, Kolkata"},
		{"Europe/Kiev", "Europe/Kyiv", "Eastern European Time, Kyiv"},
		{"Asia/Saigon", "Asia/Ho_Chi_Minh", "Indochina Time, Ho Chi Minh"},
		{"Asia/Katmandu", "Asia/Kathmandu", "Nepal Time, Kathmandu"},
		{"Asia/Rangoon", "Asia/Yangon", "Myanmar Time, Yangon"},
		{"America/Buenos_Aires", "America/Argentina/Buenos_Aires", "Argentina Time, Buenos Aires"},
		{"US/Eastern", "America/New_York", "Eastern Time, New York"},
		{"America/Detroit", "America/Detroit", "Eastern Time, Detroit"},
		{"Europe/Luxembourg", "Europe/Luxembourg", "Central European Time, Luxembourg"},
		{"Pacific/Chatham", "Pacific/Chatham", "Chatham, New Zealand"},
	}
	for _, tt := range tests {
		t.Run(tt.tz, func(t *testing.T) {
			body := a.get("/book?tz=" + tt.tz).Body.String()
			if !strings.Contains(body, `name="tz" value="`+tt.want+`"`) {
				t.Errorf("the form does not carry %s", tt.want)
			}
			sel := regexp.MustCompile(`<option value="([^"]+)"[^>]* selected>([^<]+)</option>`).FindAllStringSubmatch(body, -1)
			if len(sel) != 1 || sel[0][1] != tt.want || !strings.HasSuffix(sel[0][2], " · "+tt.label) || !strings.HasPrefix(sel[0][2], "UTC") {
				t.Errorf("selected %v, want %s labelled %q", sel, tt.want, tt.label)
			}
			if !strings.Contains(body, "Times are shown in <strong>"+tt.label+"</strong>") {
				t.Errorf("the page does not name the zone %q", tt.label)
			}
		})
	}
}

func TestBookZonePickerOffersEveryZone(t *testing.T) {
	a := newApp(t, options{})
	body := a.get("/book").Body.String()
	groups := regexp.MustCompile(`<optgroup label="([^"]+)">`).FindAllStringSubmatch(body, -1)
	var names []string
	for _, g := range groups {
		names = append(names, g[1])
	}
	if got := strings.Join(names, " "); got != "Africa America Antarctica Arctic Asia Atlantic Australia Europe Indian Pacific UTC" {
		t.Errorf("regions %s", got)
	}
	if n := strings.Count(body, "<option "); n < 300 {
		t.Errorf("%d zones offered", n)
	}
	for _, w := range []string{`value="America/Detroit"`, `value="Europe/Luxembourg"`, `>UTC&#43;05:30 · India Standard Time, Kolkata</option>`,
		`data-search="Asia/Kolkata India Asia/Calcutta"`} {
		if !strings.Contains(body, w) {
			t.Errorf("picker lacks %s", w)
		}
	}
}

// TestZoneFormKeepsTheNotice: reloading the booking's page in another zone
// keeps "Your call is booked" (the zone form once had action="").
func TestZoneFormKeepsTheNotice(t *testing.T) {
	a := newApp(t, options{})
	body := a.get("/book").Body.String()
	if !strings.Contains(body, `<form class="tz-form" method="get" action="/book#slots-title">`) {
		t.Error("the booking page's zone form has no action")
	}
	token := a.book("ada@example.com", "", "2026-03-03T10:00:00+01:00")
	body = a.get("/bookings/" + token + "?created=1").Body.String()
	if !strings.Contains(body, `<form class="tz-form" method="get" action="/bookings/`+token+`#slots-title">`) ||
		!strings.Contains(body, `<input type="hidden" name="created" value="1">`) {
		t.Errorf("the zone form drops created=1:\n%s", body)
	}
}
