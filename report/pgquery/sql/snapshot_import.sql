-- Imports the snapshot exported by the report's transaction (pg_export_snapshot). A utility
-- statement takes no bind parameter: the id replaces /*id*/ as a quoted literal.
SET TRANSACTION SNAPSHOT /*id*/
