package mailer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"leadbook/calendar"
	"leadbook/leads"
)

// KindCalDAV is the outbox kind of a write of a booking's event into the
// CEO's CalDAV calendar. Every booking change (made, moved, cancelled)
// queues one in its transaction when Composer.CalDAV is set; CalDAV
// delivers it.
const KindCalDAV = leads.KindCalDAV

// CalDAVStore is the part of leads.Store that CalDAV uses.
type CalDAVStore interface {
	FindBooking(ctx context.Context, id int64) (*leads.Booking, error)
	FindCalDAVEvent(ctx context.Context, bookingID int64) (leads.CalDAVEvent, error)
	SaveCalDAVEvent(ctx context.Context, ev leads.CalDAVEvent) (bool, error)
	ForgetCalDAVEvent(ctx context.Context, href string) error
}

var _ CalDAVStore = (*leads.Store)(nil)

// CalDAV delivers KindCalDAV rows: it writes the booking as it is now in
// the database (not as it was when the row was queued) into the calendar,
// as the CEO's copy of the invitation (same UID and SEQUENCE), so that a
// delivery repeated, or one of an older change delivered after a newer
// one, writes the newest state. It is a Deliverer for Worker.Deliverers.
//
// A first write creates the object only if it is absent (If-None-Match:
// *), later ones replace it only on the ETag stored after the last write
// (If-Match). On 412 it reads the object back and decides: one with the
// booking's SEQUENCE is this very write done before (its outcome was not
// recorded), so its ETag is stored; one with a higher SEQUENCE is newer
// (the CEO changed it) and is left alone; one with a lower SEQUENCE is
// replaced on its current ETag; a deleted one is created again.
//
// It delivers leads.KindCalDAVDelete rows too (an erasure's): see
// deleteEvent.
type CalDAV struct {
	Calendar *calendar.CalDAV
	Store    CalDAVStore
	Composer *Composer
	CEO      calendar.Person
}

var _ Deliverer = (*CalDAV)(nil)

// Deliver writes row's booking into the calendar, or for a
// leads.KindCalDAVDelete row deletes the object it names.
func (d *CalDAV) Deliver(ctx context.Context, row leads.OutboxMessage) error {
	if row.Kind == leads.KindCalDAVDelete {
		return d.deleteEvent(ctx, row)
	}
	b, err := d.Store.FindBooking(ctx, row.BookingID)
	if leads.ErrorCode(err) == leads.ENOTFOUND {
		return nil // erased since: nothing to write
	}
	if err != nil {
		return err
	}
	if b.Held() {
		return nil // not a call yet; its confirmation queues the write
	}
	inv := d.Composer.CEOInvitation(BookingMail{Booking: b, CEO: d.CEO, Now: b.UpdatedAt})
	data, err := calendar.EncodeObject(inv)
	if err != nil {
		return &PermanentError{Err: err}
	}
	ev, err := d.Store.FindCalDAVEvent(ctx, b.ID)
	switch {
	case leads.ErrorCode(err) == leads.ENOTFOUND:
		href, herr := d.Calendar.Href(b.UID)
		if herr != nil {
			return &PermanentError{Err: herr}
		}
		ev = leads.CalDAVEvent{BookingID: b.ID, Href: href}
	case err != nil:
		return err
	case ev.Sequence > b.Sequence:
		return nil
	}
	save := func(etag string) error {
		ev.ETag, ev.Sequence = etag, b.Sequence
		_, err := d.Store.SaveCalDAVEvent(ctx, ev)
		return err
	}
	for range 3 {
		etag, err := d.Calendar.Put(ctx, ev.Href, data, ev.ETag)
		if err == nil {
			if etag == "" { // some servers give none on PUT
				if obj, gerr := d.Calendar.Get(ctx, ev.Href); gerr == nil {
					etag = obj.ETag
				}
			}
			return save(etag)
		}
		if !errors.Is(err, calendar.ErrPreconditionFailed) {
			return calDAVError(err)
		}
		obj, err := d.Calendar.Get(ctx, ev.Href)
		if errors.Is(err, calendar.ErrObjectNotFound) {
			ev.ETag = "" // deleted there: create it again
			continue
		}
		if err != nil {
			return calDAVError(err)
		}
		_, seq, perr := calendar.ObjectSequence(obj.Data)
		if perr == nil && seq >= b.Sequence {
			return save(obj.ETag)
		}
		ev.ETag = obj.ETag
		if ev.ETag == "" {
			return fmt.Errorf("mailer: caldav %s: the server gives no ETag to write on", b.UID)
		}
	}
	return fmt.Errorf("mailer: caldav %s: the object changed under every write; will try again", b.UID)
}

// deleteEvent deletes the object a leads.KindCalDAVDelete row names, on
// the ETag it was last written with. On 412 (changed since: by the CEO,
// or by a write that was in flight) it reads the object back and deletes
// it on its current ETag anyway; an object gone already (404, 410) is
// done. Then the event's record goes.
func (d *CalDAV) deleteEvent(ctx context.Context, row leads.OutboxMessage) error {
	var del leads.CalDAVDeletion
	if err := json.Unmarshal(row.Payload, &del); err != nil {
		return &PermanentError{Err: fmt.Errorf("mailer: caldav delete: payload: %w", err)}
	}
	href := del.Href
	if href == "" {
		h, err := d.Calendar.Href(del.UID)
		if err != nil || del.UID == "" {
			return &PermanentError{Err: fmt.Errorf("mailer: caldav delete: no object named: %v", err)}
		}
		href = h
	}
	etag := del.ETag
	for range 3 {
		err := d.Calendar.Delete(ctx, href, etag)
		if err == nil {
			return d.Store.ForgetCalDAVEvent(ctx, href)
		}
		if !errors.Is(err, calendar.ErrPreconditionFailed) {
			return calDAVError(err)
		}
		obj, err := d.Calendar.Get(ctx, href)
		if errors.Is(err, calendar.ErrObjectNotFound) {
			return d.Store.ForgetCalDAVEvent(ctx, href)
		}
		if err != nil {
			return calDAVError(err)
		}
		etag = obj.ETag
	}
	return fmt.Errorf("mailer: caldav delete: the object changed under every deletion; will try again")
}

// calDAVError makes the answers that no retry can change permanent.
func calDAVError(err error) error {
	var se *calendar.CalDAVStatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return &PermanentError{Err: err}
		}
	}
	return err
}
