-- Where the call happens and what the visitor answered (issue 14). room
-- is the booking's unguessable room name, made once and kept when the
-- call moves, for a LEADBOOK_MEETING_URL with {room}; answers is the JSON
-- array of the booking form's questions as asked ([{"id","label",
-- "value"}]), '' when none were. The index serves the weekly cap on
-- bookings per address.
ALTER TABLE bookings ADD COLUMN room TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN answers TEXT NOT NULL DEFAULT '';
CREATE INDEX bookings_email_created ON bookings (email_key, created_at);
