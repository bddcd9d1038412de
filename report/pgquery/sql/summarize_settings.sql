-- summarize_settings: summarizing BRIN ranges waits for a VACUUM of the partition; give up after
-- 2 s (it only makes the rebuild read fewer blocks).
SET LOCAL lock_timeout = '2s'
