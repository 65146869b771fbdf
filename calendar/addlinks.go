package calendar

import (
	"net/url"
	"time"
)

// Outlook hosts for OutlookLink: personal accounts, and work or school
// (Microsoft 365) ones.
const (
	OutlookLive   = "outlook.live.com"
	OutlookOffice = "outlook.office.com"
)

// GoogleLink returns the "add to Google Calendar" link of inv: its
// summary, times (UTC), description and location, in Google Calendar's
// event template. The link goes to a third party: callers pass an
// Invitation that holds only what may leave the site (the firm's words,
// no manage link, none of the visitor's free text).
func (inv Invitation) GoogleLink() string {
	v := url.Values{}
	v.Set("action", "TEMPLATE")
	v.Set("text", capRunes(inv.Summary, MaxSummary))
	v.Set("dates", utcStamp(inv.Start)+"/"+utcStamp(inv.End))
	v.Set("details", inv.Description)
	if inv.Location != "" {
		v.Set("location", inv.Location)
	}
	return "https://calendar.google.com/calendar/render?" + v.Encode()
}

// OutlookLink returns the "add to Outlook" link of inv on host
// (OutlookLive or OutlookOffice): Outlook on the web's compose deep link,
// with the same fields as GoogleLink and the same care about what they
// hold.
func (inv Invitation) OutlookLink(host string) string {
	v := url.Values{}
	v.Set("path", "/calendar/action/compose")
	v.Set("rru", "addevent")
	v.Set("subject", capRunes(inv.Summary, MaxSummary))
	v.Set("startdt", inv.Start.UTC().Format(time.RFC3339))
	v.Set("enddt", inv.End.UTC().Format(time.RFC3339))
	v.Set("body", inv.Description)
	if inv.Location != "" {
		v.Set("location", inv.Location)
	}
	return "https://" + host + "/calendar/0/deeplink/compose?" + v.Encode()
}
