-- Where a lead or a booking came from (first touch): the article its form
-- was on, the page the visit landed on, the external referrer (scheme,
-- host and path: no query string) and the five utm_* parameters. Empty
-- when unknown.
ALTER TABLE leads ADD COLUMN article TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN landing_page TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN referrer TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_source TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_medium TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_campaign TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_term TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_content TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN article TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN landing_page TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN referrer TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_source TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_medium TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_campaign TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_term TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_content TEXT NOT NULL DEFAULT '';

-- Per UTC day, article and source (utm_source, the referrer's host or
-- "direct"): the article's views, counted in memory by each instance and
-- added here, and the leads and calls booked that came from it, added in
-- their own transaction. No personal data: kept forever (retention leaves
-- it), so the figures outlive the leads they count.
CREATE TABLE article_stats (
	day      TEXT NOT NULL,
	article  TEXT NOT NULL,
	source   TEXT NOT NULL,
	views    INTEGER NOT NULL DEFAULT 0,
	leads    INTEGER NOT NULL DEFAULT 0,
	bookings INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (day, article, source)
);
