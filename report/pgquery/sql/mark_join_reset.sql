-- mark_join_reset: ends mark_join_settings.sql for the rest of the transaction.
SET LOCAL enable_nestloop = DEFAULT
