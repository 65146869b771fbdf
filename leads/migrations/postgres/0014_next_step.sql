-- The PostgreSQL twin of sqlite/0014_next_step.sql: the next-step index on
-- the expression the leads list orders by.
DROP INDEX leads_next_step;
CREATE INDEX leads_next_step ON leads (COALESCE(next_step_at, DATE '9999-12-31'), id);
