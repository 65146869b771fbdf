-- The index of holds keeps only the holds still pending: a confirmed
-- call's hold is emptied, but a released one kept its time, so the old
-- index grew with every hold ever made, and the release of expired holds
-- (status = 'confirmed' AND hold_until <= ?, before every booking) read
-- all of them. The new index's condition is the release's own; status
-- leads its columns so that SQLite's planner, which counts the equality
-- on status, prefers it to bookings_status_start (every confirmed call).
DROP INDEX bookings_hold_until;
CREATE INDEX bookings_pending_holds ON bookings (status, hold_until) WHERE status = 'confirmed' AND hold_until IS NOT NULL;
