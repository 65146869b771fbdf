-- Host-side actions on a call: the PostgreSQL twin of
-- sqlite/0007_hostactions.sql (which explains the columns). A completed or
-- no-show call keeps status 'confirmed', so the exclusion constraint and
-- the unique index still keep its time taken.
ALTER TABLE bookings ADD COLUMN outcome text CHECK (outcome IN ('completed', 'no_show'));
ALTER TABLE bookings ADD COLUMN rebook_hash text;
CREATE UNIQUE INDEX bookings_rebook_hash ON bookings (rebook_hash);
CREATE INDEX audit_subject ON audit (subject, id);
