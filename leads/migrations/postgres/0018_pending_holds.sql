-- The PostgreSQL twin of sqlite/0018_pending_holds.sql. Here the release
-- of expired holds, run before every booking, was also planned as an AND
-- of the old index with the exclusion constraint's index of every
-- confirmed call, which it then read whole (about 600 blocks a call
-- after 2,000 bookings, growing with the table). The new index's
-- condition is the release's own, so the planner takes it alone.
DROP INDEX bookings_hold_until;
CREATE INDEX bookings_pending_holds ON bookings (status, hold_until) WHERE status = 'confirmed' AND hold_until IS NOT NULL;
