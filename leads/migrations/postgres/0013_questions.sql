-- Where the call happens and what the visitor answered: the PostgreSQL
-- twin of sqlite/0007_questions.sql (which explains the columns). answers
-- is JSON kept as text, so that erasure cuts an address out of it as it
-- does out of the other text columns, alike on both engines.
ALTER TABLE bookings ADD COLUMN room text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN answers text NOT NULL DEFAULT '';
CREATE INDEX bookings_email_created ON bookings (email_key, created_at);
