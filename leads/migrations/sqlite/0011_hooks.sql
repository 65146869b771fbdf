-- Signed webhooks and the JSON API: the endpoints that deliveries go to,
-- API token scopes, and the index the API's paging by updated_at walks.

-- An endpoint's deliveries are outbox rows of kind 'webhook' whose
-- recipient is 'webhook:<id>'. The secret must sign every delivery, so it
-- is kept as it was made; no page or command shows it after creation.
CREATE TABLE webhook_endpoints (
	id              INTEGER PRIMARY KEY,
	created_at      TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	url             TEXT NOT NULL,
	events          TEXT NOT NULL,
	secret          TEXT NOT NULL,
	status          TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
	disabled_at     TEXT,
	disabled_reason TEXT NOT NULL DEFAULT ''
);

-- Today's tokens read; a write token may also change leads.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'write'));

CREATE INDEX leads_updated_id ON leads (updated_at, id);
CREATE INDEX bookings_updated_id ON bookings (updated_at, id);
