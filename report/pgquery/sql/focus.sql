-- focus: the events of [$1, $2) grouped for the FOCUS export (report/sheet.FocusCSV): one row per
-- UTC charge day and every key a FOCUS row or one of its x_ columns names, with the token sums
-- per meter and the exact sum of the costs. The grouping is done here so that a period of
-- millions of events leaves the database as its few thousand groups, streamed in order.
-- The visibility marker after the range: nothing on PostgreSQL; on Citus the rows of the
-- coordinator snapshot $3 (query.go visibleIn3).
-- tags::text of jsonb is canonical (sorted keys), so equal tag sets form one group.
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, provider, model, service,
       coalesce(user_id, '') AS user_id, coalesce(org_id, '') AS org_id,
       coalesce(endpoint, '') AS endpoint, coalesce(tags::text, '') AS tags, cache_hit,
       cost IS NULL AS unpriced, coalesce(price_version, '') AS price_version, fx_rate,
       sum(input_tokens - cache_read_tokens - cache_write_tokens)::bigint, sum(cache_read_tokens)::bigint,
       sum(cache_write_tokens)::bigint, sum(output_tokens)::bigint, coalesce(sum(cost), 0)
FROM events
WHERE occurred_at >= $1 AND occurred_at < $2 /*visible*/
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
