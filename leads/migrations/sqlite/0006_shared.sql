-- What several instances (on PostgreSQL) share through the database
-- rather than in memory; SQLite gets the same tables, so that one store
-- runs the same statements on both engines.

-- The CEO's calendar as one row: every booking write locks it first
-- (raising the version), then checks the rules, then writes. Its version
-- also tells every instance's slot cache that the bookings changed.
CREATE TABLE calendar_state (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO calendar_state (id, version) VALUES (1, 0);

-- The head of the audit chain: an append locks it, takes the next id and
-- the previous hash from it, and writes its own hash back.
CREATE TABLE audit_head (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	last_id   INTEGER NOT NULL,
	last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
	SELECT 1, CAST(substr(v, 1, instr(v, ' ') - 1) AS INTEGER), substr(v, instr(v, ' ') + 1)
	FROM (SELECT CAST(value AS TEXT) AS v FROM settings WHERE key = 'audit_head')
	UNION ALL
	SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000'
	WHERE NOT EXISTS (SELECT 1 FROM settings WHERE key = 'audit_head');
DELETE FROM settings WHERE key = 'audit_head';

-- Periodic jobs (erasure completion, retention) run on one instance at a
-- time: the one holding the job's lease.
CREATE TABLE job_leases (
	name        TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,
	lease_until TEXT NOT NULL
);

-- Hits per client and window, for the limits that several instances
-- must share (the POST rate limit). One SQLite process counts in memory;
-- the table is here so that the store behaves alike on both engines.
CREATE TABLE rate_counts (
	key          TEXT NOT NULL,
	window_start TEXT NOT NULL,
	hits         INTEGER NOT NULL,
	PRIMARY KEY (key, window_start)
);

-- Addresses compare through a key that both engines compute alike (ASCII
-- letters folded; the dialect's emailKey): index the expressions the
-- queries use, in place of the NOCASE ones.
DROP INDEX leads_email_nocase;
DROP INDEX spam_email_nocase;
DROP INDEX outbox_recipient_nocase;
CREATE INDEX leads_email_key ON leads (lower(email));
CREATE INDEX spam_email_key ON spam (lower(email));
CREATE INDEX outbox_recipient_key ON outbox (lower(recipient));
