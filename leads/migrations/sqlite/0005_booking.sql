-- Booking abuse limits and confirmation by email.
--
-- hold_until: set while a booking waits for the visitor to confirm it by
-- the emailed link; the slot counts as taken until then, and an expired
-- hold counts as free in every query (and is cancelled by the next booking
-- write or the periodic release), so no timer is needed for correctness.
-- email_key: the visitor's address in lower case, for the cap on upcoming
-- calls per address. client_key: a keyed hash of the client's network
-- address (never the address itself), for the cap on new bookings per
-- client a day.
ALTER TABLE bookings ADD COLUMN hold_until TEXT;
ALTER TABLE bookings ADD COLUMN email_key TEXT;
ALTER TABLE bookings ADD COLUMN client_key TEXT;
UPDATE bookings SET email_key = (SELECT lower(l.email) FROM leads l WHERE l.id = bookings.lead_id);
CREATE INDEX bookings_email_key ON bookings (email_key, end_at);
CREATE INDEX bookings_client_key ON bookings (client_key, created_at);
CREATE INDEX bookings_hold_until ON bookings (hold_until);
