-- Roles, and the booking rules that admins set on the settings page.

-- Every account made before roles existed could do everything: it stays
-- an admin, so nobody is locked out. New accounts are staff unless made
-- admin.
ALTER TABLE staff ADD COLUMN role TEXT NOT NULL DEFAULT 'staff' CHECK (role IN ('admin', 'staff'));
UPDATE staff SET role = 'admin';

-- The booking rules set on the settings page, one row per rule that
-- overrides the environment's value (a missing row: the environment's).
-- Not secret, unlike the settings table, which holds keys and is never
-- shown.
CREATE TABLE booking_settings (
	name       TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
);

-- Raised by every change of booking_settings, in its transaction: each
-- instance reads it to know when its copy of the rules is stale.
CREATE TABLE booking_settings_state (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO booking_settings_state (id, version) VALUES (1, 0);
