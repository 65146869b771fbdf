-- Host-side actions on a call.
--
-- outcome: what became of a call once it took place, as staff marked it:
-- 'completed' or 'no_show'. The status stays 'confirmed', so such a call
-- keeps its time taken for the unique index on live start times (and
-- PostgreSQL's exclusion constraint) exactly as before.
-- rebook_hash: the hash of the token of an "ask to rebook" link (the
-- token itself is never stored), set when staff cancel a call and ask the
-- visitor to pick another time; a booking made through it keeps the
-- visitor's details.
-- audit_subject: a booking's history is the audit entries about it.
ALTER TABLE bookings ADD COLUMN outcome TEXT CHECK (outcome IN ('completed', 'no_show'));
ALTER TABLE bookings ADD COLUMN rebook_hash TEXT;
CREATE UNIQUE INDEX bookings_rebook_hash ON bookings (rebook_hash);
CREATE INDEX audit_subject ON audit (subject, id);
