-- Leads, bookings, the mail outbox, the spam quarantine and settings.
-- Instants are TEXT in RFC 3339 UTC with millisecond precision
-- ("2006-01-02T15:04:05.000Z"), so text order is time order.

CREATE TABLE leads (
	id              INTEGER PRIMARY KEY,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	name            TEXT NOT NULL,
	email           TEXT NOT NULL,
	company         TEXT NOT NULL DEFAULT '',
	phone           TEXT NOT NULL DEFAULT '',
	message         TEXT NOT NULL DEFAULT '',
	source          TEXT NOT NULL CHECK (source IN ('contact', 'booking')),
	consent_version TEXT NOT NULL DEFAULT '',
	consent_at      TEXT,
	idem_key        TEXT UNIQUE
);
CREATE INDEX leads_created_at ON leads (created_at);
CREATE INDEX leads_email ON leads (email);

CREATE TABLE bookings (
	id           INTEGER PRIMARY KEY,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	lead_id      INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
	uid          TEXT NOT NULL UNIQUE,
	sequence     INTEGER NOT NULL DEFAULT 0,
	start_at     TEXT NOT NULL,
	end_at       TEXT NOT NULL,
	timezone     TEXT NOT NULL,
	message      TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
	cancelled_at TEXT,
	token_hash   TEXT NOT NULL UNIQUE,
	idem_key     TEXT UNIQUE
);
-- The last line of defence against double booking: one live booking per
-- start instant, whatever the code above it does.
CREATE UNIQUE INDEX bookings_live_start ON bookings (start_at) WHERE status = 'confirmed';
CREATE INDEX bookings_lead ON bookings (lead_id);
CREATE INDEX bookings_status_start ON bookings (status, start_at);

CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	created_at      TEXT NOT NULL,
	kind            TEXT NOT NULL,
	recipient       TEXT NOT NULL,
	message_id      TEXT NOT NULL UNIQUE,
	payload         TEXT NOT NULL,
	lead_id         INTEGER REFERENCES leads (id) ON DELETE CASCADE,
	booking_id      INTEGER REFERENCES bookings (id) ON DELETE CASCADE,
	status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'dead', 'cancelled')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	lease_until     TEXT,
	last_error      TEXT NOT NULL DEFAULT '',
	sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_lead ON outbox (lead_id);
CREATE INDEX outbox_booking ON outbox (booking_id);

-- Submissions judged to be from bots: kept for staff to review, never
-- treated as leads until a person says "not spam".
CREATE TABLE spam (
	id         INTEGER PRIMARY KEY,
	created_at TEXT NOT NULL,
	form       TEXT NOT NULL,
	reason     TEXT NOT NULL,
	payload    TEXT NOT NULL,
	status     TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'deleted'))
);
CREATE INDEX spam_created_at ON spam (created_at);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
