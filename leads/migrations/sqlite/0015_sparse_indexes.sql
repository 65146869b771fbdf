-- Every booking and outbox row paid for index entries that no query
-- needs. A booking's hold (LEADBOOK_BOOKING_CONFIRM=email) and its rebook
-- link are empty on nearly every row, and their lookups ask for a value
-- (hold_until <= ?, rebook_hash = ?), so their indexes keep only the rows
-- that have one; the rebook link stays unique where it is set. The plain
-- index on the outbox's recipient goes: the webhook endpoints' lookups
-- use the lower-cased key's index, as subject access and erasure do.
DROP INDEX outbox_recipient;
DROP INDEX bookings_hold_until;
CREATE INDEX bookings_hold_until ON bookings (hold_until) WHERE hold_until IS NOT NULL;
DROP INDEX bookings_rebook_hash;
CREATE UNIQUE INDEX bookings_rebook_hash ON bookings (rebook_hash) WHERE rebook_hash IS NOT NULL;
