-- Sign-in attempts, counted in the database so that the throttle holds for
-- concurrent requests and, later, across processes.
--
-- A row is written (status 'pending') before the password is hashed, in the
-- same transaction that checks the limits; the check then marks it 'failed',
-- or deletes it on success. 'cleared' failures were followed by a success
-- from the same account and address: they no longer count against the
-- limits, but still show in the account's notice.
--
-- account is the SHA-256 of the typed email, lower-cased, whether or not an
-- account has it, so an unknown email is throttled exactly like a real one;
-- address is the client's IP address (IPv6: its /64), kept in full only
-- while the attempt is inside the throttle window, then blanked; shown is
-- the masked address (203.0.113.x) the account's owner is shown.
CREATE TABLE sign_in_attempts (
	id       INTEGER PRIMARY KEY,
	at       TEXT NOT NULL,
	account  TEXT NOT NULL,
	address  TEXT NOT NULL,
	shown    TEXT NOT NULL,
	staff_id INTEGER REFERENCES staff (id) ON DELETE CASCADE,
	status   TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'cleared'))
);
CREATE INDEX sign_in_attempts_account ON sign_in_attempts (account, at);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at);
CREATE INDEX sign_in_attempts_staff ON sign_in_attempts (staff_id, at) WHERE staff_id IS NOT NULL;
-- What the purge walks: attempts still holding a full address, and the
-- masked ones kept for the notice.
CREATE INDEX sign_in_attempts_full ON sign_in_attempts (at) WHERE address <> '';
CREATE INDEX sign_in_attempts_kept ON sign_in_attempts (at) WHERE address = '';

-- One row per throttle key (account or address) seen within the window. A
-- reservation upserts its keys first: on PostgreSQL that locks them until
-- commit, so two processes cannot both count the same attempts and both
-- insert; SQLite's one writer serialises reservations anyway.
CREATE TABLE sign_in_keys (
	key        TEXT PRIMARY KEY,
	touched_at TEXT NOT NULL
);

-- When the account last signed in, and for each session the sign-in before
-- it: the dashboard shows the failed attempts since then.
ALTER TABLE staff ADD COLUMN last_sign_in_at TEXT;
ALTER TABLE sessions ADD COLUMN failures_since TEXT NOT NULL DEFAULT '';
