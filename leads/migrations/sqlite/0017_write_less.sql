-- Two indexes that every new lead's rows paid for and no query needs in
-- full: the lead's index on updated_at alone (leads_updated_id, on
-- updated_at and id, serves every query that one served), and the
-- outbox's index of booking ids, now of the rows that have one (a lead's
-- mail has none; booking_id = ? finds the same rows).
DROP INDEX leads_updated_at;
DROP INDEX outbox_booking;
CREATE INDEX outbox_booking ON outbox (booking_id) WHERE booking_id IS NOT NULL;
