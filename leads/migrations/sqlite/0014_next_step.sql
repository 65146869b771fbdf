-- The leads list sorted by next step orders by COALESCE(next_step_at,
-- '9999-12-31') (leads without a next step last), which the plain index
-- of 0009 cannot serve: every page sorted every matching lead. The index
-- is on the expression the query orders by.
DROP INDEX leads_next_step;
CREATE INDEX leads_next_step ON leads (COALESCE(next_step_at, '9999-12-31'), id);
