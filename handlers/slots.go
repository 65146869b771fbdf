package handlers

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/calendar"
)

// maxSlotDays caps the span one slots request may ask for.
const maxSlotDays = 62

// slotCache keeps /api/slots answers until something they depend on
// changes: a booking (the store's version), the busy feeds (their version),
// or the clock passing the moment the first slot falls inside the minimum
// notice, a new day enters the horizon, or a hold runs out. A cached answer is therefore
// always the answer a fresh computation would give.
type slotCache struct {
	mu      sync.RWMutex
	entries map[string]*slotEntry
}

type slotEntry struct {
	body       []byte
	bookings   uint64
	busy       uint64
	rules      uint64
	validUntil time.Time
}

const slotCacheMax = 4096

func (c *slotCache) get(key string, bookings, busy, rules uint64, now time.Time) []byte {
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e == nil || e.bookings != bookings || e.busy != busy || e.rules != rules || !now.Before(e.validUntil) {
		return nil
	}
	return e.body
}

func (c *slotCache) put(key string, e *slotEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= slotCacheMax {
		c.entries = make(map[string]*slotEntry, 64)
	}
	c.entries[key] = e
}

// handleSlotsList answers GET /api/slots?from=&to=&tz= with the open slots
// whose start falls on the dates from..to (inclusive) in tz.
func (s *Server) handleSlotsList(c echo.Context) error {
	tzName := c.QueryParam("tz")
	loc, ok := s.visitorZone(tzName)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "tz: unknown time zone; use an IANA name like Europe/Berlin")
	}
	now := s.now()
	today := calendar.DateOf(now.In(loc))
	from, to := today, today.AddDays(13)
	var err error
	if v := c.QueryParam("from"); v != "" {
		if from, err = calendar.ParseDate(v); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "from: want a date like 2026-03-02")
		}
		if c.QueryParam("to") == "" {
			to = from.AddDays(13)
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if to, err = calendar.ParseDate(v); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "to: want a date like 2026-03-15")
		}
	}
	if to.Before(from) {
		return echo.NewHTTPError(http.StatusBadRequest, "to: must not be before from")
	}
	if from.AddDays(maxSlotDays).Before(to) {
		return echo.NewHTTPError(http.StatusBadRequest, "to: at most 62 days after from")
	}
	key := from.String() + "|" + to.String() + "|" + loc.String()
	ctx := c.Request().Context()
	rules, err := s.rulesNow(ctx)
	if err != nil {
		return err
	}
	bv, fv := s.booking.Store.BookingsVersion(), s.booking.Busy.Version()
	body := s.slotCache.get(key, bv, fv, rules.version, now)
	if body == nil {
		start, end := from.In(loc), to.AddDays(1).In(loc)
		open, err := s.svc.OpenSlots(ctx, start, end)
		if err != nil {
			return err
		}
		body = appendSlotsJSON(make([]byte, 0, 64+len(open.Slots)*72), loc.String(), open.Slots, loc)
		until := open.ValidUntil
		if !open.HoldEnds.IsZero() && open.HoldEnds.Before(until) {
			until = open.HoldEnds
		}
		s.slotCache.put(key, &slotEntry{body: body, bookings: bv, busy: fv, rules: rules.version, validUntil: until})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, body)
}

// appendSlotsJSON writes {"timezone": tz, "slots": [{"start", "end"}]}
// with times in loc, without reflection.
func appendSlotsJSON(b []byte, tz string, slots []calendar.Slot, loc *time.Location) []byte {
	b = append(b, `{"timezone":`...)
	b = appendJSONString(b, tz)
	b = append(b, `,"slots":[`...)
	for i, sl := range slots {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"start":"`...)
		b = sl.Start.In(loc).AppendFormat(b, time.RFC3339)
		b = append(b, `","end":"`...)
		b = sl.End.In(loc).AppendFormat(b, time.RFC3339)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

// appendJSONString quotes a zone name; zone names are plain ASCII, but
// escape anyway.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// slotJSON is one slot in the JSON answers of the booking routes.
type slotJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func slotList(slots []calendar.Slot, loc *time.Location) []slotJSON {
	out := make([]slotJSON, len(slots))
	for i, sl := range slots {
		out[i] = slotJSON{Start: sl.Start.In(loc).Format(time.RFC3339), End: sl.End.In(loc).Format(time.RFC3339)}
	}
	return out
}
