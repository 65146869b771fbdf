-- Booking abuse limits and confirmation by email: the PostgreSQL twin of
-- sqlite/0005_booking.sql (which explains the columns). A hold is a live
-- booking (status confirmed) until it expires, so the exclusion constraint
-- keeps its time free of others.
ALTER TABLE bookings ADD COLUMN hold_until timestamptz;
ALTER TABLE bookings ADD COLUMN email_key text;
ALTER TABLE bookings ADD COLUMN client_key text;
UPDATE bookings SET email_key = (SELECT lower(l.email) FROM leads l WHERE l.id = bookings.lead_id);
CREATE INDEX bookings_email_key ON bookings (email_key, end_at);
CREATE INDEX bookings_client_key ON bookings (client_key, created_at);
CREATE INDEX bookings_hold_until ON bookings (hold_until);
