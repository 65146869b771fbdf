-- The PostgreSQL twin of sqlite/0017_write_less.sql, and one setting of
-- its own: the outbox's pages are filled to 60% by inserts, so that a
-- claim (which changes no indexed column) finds room for the new row
-- version on its page and is a HOT update, writing no index entry;
-- packed pages made most claims write one in each of the outbox's
-- indexes.
ALTER TABLE outbox SET (fillfactor = 60);
DROP INDEX leads_updated_at;
DROP INDEX outbox_booking;
CREATE INDEX outbox_booking ON outbox (booking_id) WHERE booking_id IS NOT NULL;
