-- The PostgreSQL twin of sqlite/0015_sparse_indexes.sql: the indexes of a
-- booking's hold and rebook link keep only the rows that have one, and
-- the outbox's plain recipient index goes (the webhook endpoints' lookups
-- use the lower-cased key's index).
DROP INDEX outbox_recipient;
DROP INDEX bookings_hold_until;
CREATE INDEX bookings_hold_until ON bookings (hold_until) WHERE hold_until IS NOT NULL;
DROP INDEX bookings_rebook_hash;
CREATE UNIQUE INDEX bookings_rebook_hash ON bookings (rebook_hash) WHERE rebook_hash IS NOT NULL;
