-- Erasure and subject access find a person by their exact address, in any
-- ASCII letter case, never by a search through payloads: the PostgreSQL
-- twin of sqlite/0003_privacy.sql. Held submissions keep the address they
-- gave. The key expression folds ASCII letters only, as SQLite's lower()
-- and the store's Go code do (the dialect's emailKey).
ALTER TABLE spam ADD COLUMN email text NOT NULL DEFAULT '';
CREATE INDEX spam_email_key ON spam (translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
CREATE INDEX outbox_recipient_key ON outbox (translate(recipient, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
DROP INDEX leads_email_lower;
CREATE INDEX leads_email_key ON leads (translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
