-- schema_current: whether Migrate has nothing to do, read in one statement so that every
-- command's start (a cron budget check every few minutes) skips goose's lock and version
-- queries and the partition DDL: the newest embedded migration ($1) is the newest applied, and
-- each partition of the window ($2, names) exists with autosummarize on its BRIN indexes (what
-- EnsurePartitions would set). A database without goose's table or events fails with
-- undefined_table, which the caller takes as "not current".
SELECT coalesce((SELECT max(version_id) FROM goose_db_version WHERE is_applied), 0) = $1::bigint
   AND (SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
        WHERE i.inhparent = 'events'::regclass AND p.relname = ANY ($2::text[])) = cardinality($2::text[])
   AND NOT EXISTS (
       SELECT 1
       FROM pg_inherits i
       JOIN pg_class p ON p.oid = i.inhrelid
       JOIN pg_index x ON x.indrelid = i.inhrelid
       JOIN pg_class c ON c.oid = x.indexrelid
       JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
       WHERE i.inhparent = 'events'::regclass AND p.relname = ANY ($2::text[])
         AND NOT coalesce(c.reloptions @> '{autosummarize=on}', false))
