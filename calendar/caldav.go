package calendar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// CalDAV is one calendar collection on a CalDAV server (RFC 4791): the
// CEO's, which leadbook writes its bookings into and reads busy time from.
type CalDAV struct {
	URL                string       // the collection, e.g. https://dav.example.com/ceo/calendar/
	Username, Password string       // HTTP basic authentication; none when both are empty
	Client             *http.Client // nil: one with a 30s timeout
	// Skip, when set, leaves out of Busy the events whose UID it
	// accepts (the ones leadbook wrote itself).
	Skip func(uid string) bool
}

// CalDAVStatusError is a CalDAV request that the server answered with a
// status other than success.
type CalDAVStatusError struct {
	Method string
	Code   int
}

func (e *CalDAVStatusError) Error() string {
	return fmt.Sprintf("calendar: caldav %s: HTTP status %d %s", e.Method, e.Code, http.StatusText(e.Code))
}

// ErrPreconditionFailed is a conditional write (a PUT or a DELETE)
// refused with 412: the object is not in the state the write assumed (it
// exists, or its ETag changed).
var ErrPreconditionFailed = &CalDAVStatusError{Code: http.StatusPreconditionFailed}

// Is matches an answer against a target of the same code and method, or
// of the same code and no method (ErrPreconditionFailed,
// ErrObjectNotFound) whatever the request's method.
func (e *CalDAVStatusError) Is(target error) bool {
	t, ok := target.(*CalDAVStatusError)
	return ok && t.Code == e.Code && (t.Method == "" || t.Method == e.Method)
}

// ErrObjectNotFound is a GET of an object the server does not have.
var ErrObjectNotFound = &CalDAVStatusError{Code: http.StatusNotFound}

func (c *CalDAV) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *CalDAV) base() (*url.URL, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("calendar: caldav: bad collection URL")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u, nil
}

// Href returns the path of the object that holds the event with uid: the
// collection's path and the UID, escaped, with ".ics".
func (c *CalDAV) Href(uid string) (string, error) {
	u, err := c.base()
	if err != nil {
		return "", err
	}
	return u.Path + url.PathEscape(uid) + ".ics", nil
}

func (c *CalDAV) request(ctx context.Context, method, href string, body []byte) (*http.Request, error) {
	u, err := c.base()
	if err != nil {
		return nil, err
	}
	ref, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: bad href %q", href)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.ResolveReference(ref).String(), r)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: %w", err)
	}
	if c.Username != "" || c.Password != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	req.Header.Set("User-Agent", "leadbook-calendar/1")
	return req, nil
}

func (c *CalDAV) do(req *http.Request) (*http.Response, error) {
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav %s: %w", req.Method, withoutURL(err))
	}
	return resp, nil
}

// withoutURL is err without the URL a *url.Error in it names, which may
// hold secrets (a feed's token, a password): the error it wraps, or err
// as it is when it holds no *url.Error.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Put writes an iCalendar object at href, conditionally: where etag is
// empty only if no object is there yet (If-None-Match: *), otherwise only
// if the object there still has that ETag (If-Match). A refused condition
// is ErrPreconditionFailed. It returns the ETag the server gives the new
// object, or "" when it gives none.
func (c *CalDAV) Put(ctx context.Context, href string, data []byte, etag string) (string, error) {
	req, err := c.request(ctx, http.MethodPut, href, data)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	if etag == "" {
		req.Header.Set("If-None-Match", "*")
	} else {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", &CalDAVStatusError{Method: http.MethodPut, Code: resp.StatusCode}
	}
	return resp.Header.Get("ETag"), nil
}

// Delete deletes the object at href: where etag is not empty only if the
// object there still has that ETag (If-Match; a refused condition is
// ErrPreconditionFailed). An object the server does not have (404, 410)
// is deleted already: that is no error.
func (c *CalDAV) Delete(ctx context.Context, href, etag string) error {
	req, err := c.request(ctx, http.MethodDelete, href, nil)
	if err != nil {
		return err
	}
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusGone:
		return nil
	}
	return &CalDAVStatusError{Method: http.MethodDelete, Code: resp.StatusCode}
}

// CalDAVObject is one object read back from the server.
type CalDAVObject struct {
	ETag string
	Data []byte
}

// Get reads the object at href; one the server does not have is
// ErrObjectNotFound.
func (c *CalDAV) Get(ctx context.Context, href string) (CalDAVObject, error) {
	req, err := c.request(ctx, http.MethodGet, href, nil)
	if err != nil {
		return CalDAVObject{}, err
	}
	req.Header.Set("Accept", "text/calendar")
	resp, err := c.do(req)
	if err != nil {
		return CalDAVObject{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return CalDAVObject{}, &CalDAVStatusError{Method: http.MethodGet, Code: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return CalDAVObject{}, fmt.Errorf("calendar: caldav GET: %w", err)
	}
	if len(data) > maxFeedBytes {
		return CalDAVObject{}, fmt.Errorf("calendar: caldav GET: larger than %d bytes", maxFeedBytes)
	}
	return CalDAVObject{ETag: resp.Header.Get("ETag"), Data: data}, nil
}

// basicAuth adds the credentials to go-webdav's requests.
type basicAuth struct {
	c          *http.Client
	user, pass string
}

func (b basicAuth) Do(req *http.Request) (*http.Response, error) {
	if b.user != "" || b.pass != "" {
		req.SetBasicAuth(b.user, b.pass)
	}
	req.Header.Set("User-Agent", "leadbook-calendar/1")
	return b.c.Do(req)
}

var _ webdav.HTTPClient = basicAuth{}

// Busy returns the events of the collection that overlap [from, to), as
// one iCalendar stream for ParseBusy: a calendar-query REPORT with that
// time range, every object's time zones and events (but those Skip
// accepts) gathered into one VCALENDAR.
func (c *CalDAV) Busy(ctx context.Context, from, to time.Time) (_ []byte, err error) {
	// go-webdav decodes the objects with go-ical, which panics on some
	// malformed parameters: a server's bad object is an error here.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("calendar: caldav REPORT: unreadable calendar data: %v", v)
		}
	}()
	u, err := c.base()
	if err != nil {
		return nil, err
	}
	endpoint := *u
	endpoint.Path = "/"
	cl, err := caldav.NewClient(basicAuth{c.client(), c.Username, c.Password}, endpoint.String())
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav: %w", err)
	}
	objs, err := cl.QueryCalendar(ctx, u.Path, &caldav.CalendarQuery{
		// Every component named with all its properties: Xandikos gives
		// the subcomponents of an <allcomp/> no properties.
		CompRequest: caldav.CalendarCompRequest{Name: ical.CompCalendar, AllProps: true, Comps: []caldav.CalendarCompRequest{
			{Name: ical.CompEvent, AllProps: true, Comps: []caldav.CalendarCompRequest{{Name: ical.CompAlarm, AllProps: true}}},
			{Name: ical.CompTimezone, AllProps: true, Comps: []caldav.CalendarCompRequest{
				{Name: ical.CompTimezoneStandard, AllProps: true}, {Name: ical.CompTimezoneDaylight, AllProps: true}}},
		}},
		CompFilter: caldav.CompFilter{Name: ical.CompCalendar, Comps: []caldav.CompFilter{
			{Name: ical.CompEvent, Start: from.UTC(), End: to.UTC()},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("calendar: caldav REPORT: %w", withoutURL(err))
	}
	var b bytes.Buffer
	calendarHeader(&b)
	zones := map[string]bool{}
	for _, o := range objs {
		if o.Data == nil {
			continue
		}
		for _, child := range o.Data.Children {
			switch child.Name {
			case ical.CompTimezone:
				id, _ := child.Props.Text(ical.PropTimezoneID)
				if zones[id] {
					continue
				}
				zones[id] = true
			case ical.CompEvent:
				if uid, _ := child.Props.Text(ical.PropUID); c.Skip != nil && c.Skip(uid) {
					continue
				}
			default:
				continue
			}
			writeComponent(&b, child)
		}
	}
	b.WriteString("END:VCALENDAR\r\n")
	return Fold(b.Bytes()), nil
}

// writeComponent writes c back as it was read, without go-ical's
// encoder's checks: ParseBusy reads liberally, and what a server holds need
// not be valid (an event without DTSTAMP is still busy time).
//
// go-ical keeps properties and parameters in maps: they go out sorted by
// name, so that the same object always gives the same bytes (Feeds
// compares a fetch with the last to see whether anything changed). The
// properties of one name keep their order, as do a parameter's values.
func writeComponent(b *bytes.Buffer, c *ical.Component) {
	line(b, "BEGIN:"+c.Name)
	for _, name := range slices.Sorted(maps.Keys(c.Props)) {
		for _, p := range c.Props[name] {
			b.WriteString(p.Name)
			for _, pname := range slices.Sorted(maps.Keys(p.Params)) {
				b.WriteString(";" + pname + "=")
				for i, v := range p.Params[pname] {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(paramValue(v))
				}
			}
			b.WriteByte(':')
			b.WriteString(valueNewlines.Replace(p.Value))
			b.WriteString("\r\n")
		}
	}
	for _, child := range c.Children {
		writeComponent(b, child)
	}
	line(b, "END:"+c.Name)
}

// valueNewlines escapes the line breaks of a value writeComponent writes.
var valueNewlines = strings.NewReplacer("\r\n", "\\n", "\n", "\\n", "\r", "")

// EncodeObject returns inv as a calendar object resource for a CalDAV
// collection (RFC 4791 §4.1): no METHOD, one VEVENT with the ORGANIZER and
// the visitor in CONTACT, no ATTENDEE (so that no server schedules mail to
// the visitor on leadbook's behalf), STATUS:CANCELLED once cancelled.
func EncodeObject(inv Invitation) ([]byte, error) {
	var b bytes.Buffer
	calendarHeader(&b)
	inv.Method = ""
	if err := inv.event(&b); err != nil {
		return nil, err
	}
	b.WriteString("END:VCALENDAR\r\n")
	return Fold(b.Bytes()), nil
}

// ObjectSequence returns the UID and SEQUENCE of the first VEVENT of an
// iCalendar object (SEQUENCE 0 when it has none), for deciding whether a
// write would go back in time.
func ObjectSequence(data []byte) (uid string, seq int, err error) {
	cal, err := Decode(data)
	if err != nil {
		return "", 0, fmt.Errorf("calendar: read object: %w", err)
	}
	events := cal.Events()
	if len(events) == 0 {
		return "", 0, errors.New("calendar: read object: no VEVENT")
	}
	ev := events[0]
	uid, _ = ev.Props.Text(ical.PropUID)
	if p := ev.Props.Get(ical.PropSequence); p != nil {
		if seq, err = p.Int(); err != nil {
			return uid, 0, fmt.Errorf("calendar: read object: SEQUENCE: %w", err)
		}
	}
	return uid, seq, nil
}
