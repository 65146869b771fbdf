-- Where a lead or a booking came from (first touch): the article its form
-- was on, the page the visit landed on, the external referrer (scheme,
-- host and path: no query string) and the five utm_* parameters. Empty
-- when unknown.
ALTER TABLE leads ADD COLUMN article text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN landing_page text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN referrer text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_source text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_medium text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_campaign text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_term text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN utm_content text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN article text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN landing_page text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN referrer text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_source text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_medium text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_campaign text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_term text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN utm_content text NOT NULL DEFAULT '';

-- Per UTC day, article and source (utm_source, the referrer's host or
-- "direct"): the article's views, counted in memory by each instance and
-- added here, and the leads and calls booked that came from it, added in
-- their own transaction. No personal data: kept forever (retention leaves
-- it), so the figures outlive the leads they count.
CREATE TABLE article_stats (
	day      text NOT NULL,
	article  text NOT NULL,
	source   text NOT NULL,
	views    bigint NOT NULL DEFAULT 0,
	leads    bigint NOT NULL DEFAULT 0,
	bookings bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (day, article, source)
);
