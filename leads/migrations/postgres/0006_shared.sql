-- What several instances share through the database rather than in
-- memory: the PostgreSQL twin of sqlite/0003_shared.sql.

-- The CEO's calendar as one row: every booking write locks it first
-- (raising the version), then checks the rules, then writes. Its version
-- also tells every instance's slot cache that the bookings changed.
CREATE TABLE calendar_state (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO calendar_state (id, version) VALUES (1, 0);

-- The head of the audit chain: an append locks it, takes the next id and
-- the previous hash from it, and writes its own hash back.
CREATE TABLE audit_head (
	id        integer PRIMARY KEY CHECK (id = 1),
	last_id   bigint NOT NULL,
	last_hash text NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
	VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Periodic jobs (erasure completion, retention) run on one instance at a
-- time: the one holding the job's lease.
CREATE TABLE job_leases (
	name        text PRIMARY KEY,
	holder      text NOT NULL,
	lease_until timestamptz NOT NULL
);

-- Hits per client and window, for the limits that several instances
-- share (the POST rate limit). Unlogged: counters that a crash may reset
-- are not worth a WAL write each.
CREATE UNLOGGED TABLE rate_counts (
	key          text NOT NULL,
	window_start timestamptz NOT NULL,
	hits         integer NOT NULL,
	PRIMARY KEY (key, window_start)
);
