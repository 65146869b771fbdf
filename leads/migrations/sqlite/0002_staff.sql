-- Staff accounts, their sessions and API tokens, the hash-chained audit log,
-- the record of erasures, and the indexes the dashboard needs.

CREATE TABLE staff (
	id            INTEGER PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL, -- argon2id, PHC string with its salt
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);

-- Only the SHA-256 of a session token is stored: a copy of the database
-- does not sign anyone in.
CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY,
	token_hash   TEXT NOT NULL UNIQUE,
	staff_id     INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_staff ON sessions (staff_id);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	created_at   TEXT NOT NULL,
	created_by   TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Append only: each entry's hash covers its fields and the previous
-- entry's hash, so an edited or removed row breaks the chain. The triggers
-- stop accidents; the chain shows deliberate tampering.
CREATE TABLE audit (
	id        INTEGER PRIMARY KEY,
	at        TEXT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- That an erasure happened, and how much it removed; nothing about whom.
CREATE TABLE erasures (
	id       INTEGER PRIMARY KEY,
	at       TEXT NOT NULL,
	by_staff TEXT NOT NULL,
	counts   TEXT NOT NULL,
	status   TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
	done_at  TEXT
);

-- Cancellations queued by an erasure: detached from the erased lead and
-- booking so they survive the delete, and scrubbed once delivered.
ALTER TABLE outbox ADD COLUMN erasure_id INTEGER REFERENCES erasures (id);
CREATE INDEX outbox_erasure ON outbox (erasure_id) WHERE erasure_id IS NOT NULL;
CREATE INDEX outbox_recipient ON outbox (recipient);
CREATE INDEX leads_updated_at ON leads (updated_at);
-- Erasure, subject access and a search for a whole address find a person
-- by email in any letter case.
CREATE INDEX leads_email_nocase ON leads (email COLLATE NOCASE);
CREATE INDEX spam_status ON spam (status, id);

-- Word-prefix search over name, email and company for the dashboard.
-- External content: the words live in the index, the text in leads.
CREATE VIRTUAL TABLE leads_fts USING fts4 (content="leads", name, email, company, tokenize=unicode61 "remove_diacritics=2");
INSERT INTO leads_fts (leads_fts) VALUES ('rebuild');
CREATE TRIGGER leads_fts_bu BEFORE UPDATE OF name, email, company ON leads BEGIN
	DELETE FROM leads_fts WHERE docid = old.id;
END;
CREATE TRIGGER leads_fts_bd BEFORE DELETE ON leads BEGIN
	DELETE FROM leads_fts WHERE docid = old.id;
END;
CREATE TRIGGER leads_fts_au AFTER UPDATE OF name, email, company ON leads BEGIN
	INSERT INTO leads_fts (docid, name, email, company) VALUES (new.id, new.name, new.email, new.company);
END;
CREATE TRIGGER leads_fts_ai AFTER INSERT ON leads BEGIN
	INSERT INTO leads_fts (docid, name, email, company) VALUES (new.id, new.name, new.email, new.company);
END;
