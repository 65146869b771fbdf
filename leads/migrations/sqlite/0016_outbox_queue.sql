-- The outbox's queue index holds the queued rows only, in the claim's
-- order (due time, then id), so that a claim walks the head of the queue
-- and stops at its limit. The index it replaces, on (status, due time),
-- kept every sent row and left the claim to sort all the due rows: in a
-- burst, thousands a claim.
DROP INDEX outbox_due;
CREATE INDEX outbox_queue ON outbox (next_attempt_at, id) WHERE status = 'queued';
