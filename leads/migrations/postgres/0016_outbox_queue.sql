-- The PostgreSQL twin of sqlite/0016_outbox_queue.sql: the queue index
-- holds the queued rows only, in the claim's order (due time, then id),
-- so that a claim walks the head of the queue and stops at its limit
-- instead of sorting every due row.
DROP INDEX outbox_due;
CREATE INDEX outbox_queue ON outbox (next_attempt_at, id) WHERE status = 'queued';
