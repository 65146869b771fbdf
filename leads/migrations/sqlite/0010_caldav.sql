-- The CEO's calendar over CalDAV and the replies read over IMAP.

-- Where each booking's event lives in the CEO's CalDAV calendar: its
-- href, the ETag the server last gave it (the If-Match of the next
-- write) and the SEQUENCE written there, which a write never lowers.
CREATE TABLE caldav_events (
	id         INTEGER PRIMARY KEY,
	booking_id INTEGER NOT NULL UNIQUE REFERENCES bookings (id) ON DELETE CASCADE,
	href       TEXT NOT NULL,
	etag       TEXT NOT NULL,
	sequence   INTEGER NOT NULL,
	updated_at TEXT NOT NULL
);

-- The iTIP replies (REPLY, COUNTER) read from the organizer's mailbox
-- and matched to a booking: who answered what, for the staff pages.
CREATE TABLE booking_replies (
	id          INTEGER PRIMARY KEY,
	booking_id  INTEGER NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
	received_at TEXT NOT NULL,
	method      TEXT NOT NULL,
	attendee    TEXT NOT NULL,
	role        TEXT NOT NULL CHECK (role IN ('visitor', 'ceo')),
	partstat    TEXT NOT NULL,
	sequence    INTEGER NOT NULL,
	message_id  TEXT NOT NULL
);
CREATE INDEX booking_replies_booking ON booking_replies (booking_id, id);

-- Every mailbox message acted on, by Message-ID, so that none is acted on
-- twice even when its IMAP flag is lost.
CREATE TABLE imap_messages (
	id           INTEGER PRIMARY KEY,
	message_id   TEXT NOT NULL UNIQUE,
	processed_at TEXT NOT NULL,
	outcome      TEXT NOT NULL
);
