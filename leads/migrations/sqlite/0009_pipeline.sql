-- The lead pipeline: where each lead stands (status, with the reason when
-- it was lost), who follows it up (a staff account) and on which day the
-- next step is due; and the lead's timeline of notes and changes.

ALTER TABLE leads ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
	CHECK (status IN ('new', 'contacted', 'qualified', 'won', 'lost'));
ALTER TABLE leads ADD COLUMN lost_reason TEXT NOT NULL DEFAULT '';
-- A removed account leaves its leads without an owner.
ALTER TABLE leads ADD COLUMN owner_id INTEGER REFERENCES staff (id) ON DELETE SET NULL;
-- A calendar day, YYYY-MM-DD: staff plan follow-ups by the day.
ALTER TABLE leads ADD COLUMN next_step_at TEXT;
CREATE INDEX leads_status ON leads (status, id);
CREATE INDEX leads_owner ON leads (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX leads_next_step ON leads (next_step_at, id);

-- Who did what to a lead and when: a note (body), or a change of status,
-- owner or next step (old and new value; body holds a lost reason). The
-- events go with their lead, by erasure or retention.
CREATE TABLE lead_events (
	id        INTEGER PRIMARY KEY,
	lead_id   INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
	at        TEXT NOT NULL,
	actor     TEXT NOT NULL,
	staff_id  INTEGER REFERENCES staff (id) ON DELETE SET NULL,
	kind      TEXT NOT NULL CHECK (kind IN ('note', 'status', 'owner', 'next_step')),
	old_value TEXT NOT NULL DEFAULT '',
	new_value TEXT NOT NULL DEFAULT '',
	body      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, id);
CREATE INDEX lead_events_staff ON lead_events (staff_id) WHERE staff_id IS NOT NULL;
