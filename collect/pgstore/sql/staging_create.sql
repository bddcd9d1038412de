-- staging_create: the staging table of the duplicate fallback (store.go write): rows COPYed here
-- first, then inserted by staging_insert.sql. Its defaults are the events' (ingest_xact is this
-- transaction's), and it lives until the transaction ends.
CREATE TEMP TABLE incoming (LIKE events INCLUDING DEFAULTS) ON COMMIT DROP
