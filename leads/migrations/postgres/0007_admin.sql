-- Roles, and the booking rules that admins set on the settings page: the
-- PostgreSQL twin of sqlite/0007_admin.sql.

-- Every account made before roles existed could do everything: it stays
-- an admin, so nobody is locked out. New accounts are staff unless made
-- admin.
ALTER TABLE staff ADD COLUMN role text NOT NULL DEFAULT 'staff' CHECK (role IN ('admin', 'staff'));
UPDATE staff SET role = 'admin';

-- The booking rules set on the settings page, one row per rule that
-- overrides the environment's value (a missing row: the environment's).
-- Not secret, unlike the settings table, which holds keys and is never
-- shown.
CREATE TABLE booking_settings (
	name       text PRIMARY KEY,
	value      text NOT NULL,
	updated_at timestamptz NOT NULL,
	updated_by text NOT NULL
);

-- Raised by every change of booking_settings, in its transaction: each
-- instance reads it to know when its copy of the rules is stale.
CREATE TABLE booking_settings_state (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO booking_settings_state (id, version) VALUES (1, 0);
