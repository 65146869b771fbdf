-- Erasure and subject access find a person by their exact address, in any
-- letter case, never by a search through payloads. Held submissions keep
-- the address they gave (written by HoldSpam from now on; filled here from
-- the payload for the ones already held), and the outbox's recipient gets
-- an index that compares as the leads' email index does.
ALTER TABLE spam ADD COLUMN email TEXT NOT NULL DEFAULT '';
UPDATE spam SET email = trim(json_extract(payload, '$.email'), ' ' || char(9, 10, 13))
	WHERE json_valid(payload) AND json_type(payload, '$.email') = 'text';
CREATE INDEX spam_email_nocase ON spam (email COLLATE NOCASE);
CREATE INDEX outbox_recipient_nocase ON outbox (recipient COLLATE NOCASE);
