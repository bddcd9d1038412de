-- +goose Up
-- event_changes: which hours of events changed, so that the batch job rebuilds only the days
-- whose events changed since they were aggregated. A statement trigger appends one row per
-- distinct UTC hour that a statement inserted, updated or deleted, in the writer's own
-- transaction: a change becomes visible together with the events it marks, never before or
-- after. Every writer is covered (the collector's COPY and its ON CONFLICT fallback, re-pricing,
-- bulk loads, hand-made fixes). Rows are only ever appended here and deleted by the batch job
-- (report/pgquery consume_changes.sql), so writers never wait on each other or on the job. Hours,
-- not days: days are calendar days of the report time zone, which the writers do not know; every
-- zone offset is a multiple of 15 minutes, so an hour touches at most two days of any zone.
CREATE TABLE event_changes (
    id   bigserial   PRIMARY KEY,
    hour timestamptz NOT NULL
);
CREATE INDEX event_changes_hour ON event_changes (hour);

-- aggregate_days: the days (in time zone tz) whose daily_aggregates are current: built from the
-- events after every change to that day that the job has consumed. A day without a row (never
-- built, or marked stale by a consumed change) is rebuilt the next time a report needs it.
CREATE TABLE aggregate_days (
    tz       text        NOT NULL,
    day      date        NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tz, day)
);

-- daily_rollups: the daily aggregates rolled up to one row per day × breakdown dimension × value
-- (dim total with key '', service, model, provider, org_id, user_id; absent org/user are ''),
-- built in the same statement as daily_aggregates. A report reads a few thousand of these rows per
-- day instead of every service × model × provider × org × user combination, and budgets scoped
-- on at most one dimension read them too. Kept by retention like daily_aggregates.
CREATE TABLE daily_rollups (
    tz                 text      NOT NULL,
    day                date      NOT NULL,
    dim                text      NOT NULL,
    key                text      NOT NULL,
    requests           bigint    NOT NULL,
    failures           bigint    NOT NULL,
    cache_hits         bigint    NOT NULL,
    unpriced           bigint    NOT NULL,
    input_tokens       bigint    NOT NULL,
    output_tokens      bigint    NOT NULL,
    cache_read_tokens  bigint    NOT NULL,
    cache_write_tokens bigint    NOT NULL,
    reasoning_tokens   bigint    NOT NULL,
    cost               numeric   NOT NULL,
    latency_count      bigint    NOT NULL,
    latency_sum_ms     bigint    NOT NULL,
    latency_buckets    integer[] NOT NULL,
    latency_counts     bigint[]  NOT NULL,
    PRIMARY KEY (tz, day, dim, key)
);

-- Existing aggregates (some of days whose events retention already dropped) get their rollups.
INSERT INTO daily_rollups
SELECT tz, day, dim, key, sum(requests), sum(failures), sum(cache_hits), sum(unpriced),
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
       sum(reasoning_tokens), sum(cost), sum(latency_count), sum(latency_sum_ms),
       coalesce(array_agg(b ORDER BY b) FILTER (WHERE b IS NOT NULL), '{}'),
       coalesce(array_agg(n ORDER BY b) FILTER (WHERE b IS NOT NULL), '{}')
FROM (
    SELECT tz, day, dim, key, b, sum(n)::bigint AS n,
           sum(requests) AS requests, sum(failures) AS failures, sum(cache_hits) AS cache_hits,
           sum(unpriced) AS unpriced, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(reasoning_tokens) AS reasoning_tokens, sum(cost) AS cost,
           sum(latency_count) AS latency_count, sum(latency_sum_ms) AS latency_sum_ms
    FROM (
        -- one row per aggregate and bucket; the additive columns only on the first bucket row
        SELECT a.tz, a.day, d.dim, d.key, h.b, h.n,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.requests ELSE 0 END AS requests,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.failures ELSE 0 END AS failures,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.cache_hits ELSE 0 END AS cache_hits,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.unpriced ELSE 0 END AS unpriced,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.input_tokens ELSE 0 END AS input_tokens,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.output_tokens ELSE 0 END AS output_tokens,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.cache_read_tokens ELSE 0 END AS cache_read_tokens,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.cache_write_tokens ELSE 0 END AS cache_write_tokens,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.reasoning_tokens ELSE 0 END AS reasoning_tokens,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.cost ELSE 0 END AS cost,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.latency_count ELSE 0 END AS latency_count,
               CASE WHEN coalesce(h.ord, 1) = 1 THEN a.latency_sum_ms ELSE 0 END AS latency_sum_ms
        FROM daily_aggregates a
        CROSS JOIN LATERAL (VALUES ('total', ''), ('service', a.service), ('model', a.model),
                                   ('provider', a.provider), ('org_id', a.org_id), ('user_id', a.user_id)) AS d(dim, key)
        LEFT JOIN LATERAL unnest(a.latency_buckets, a.latency_counts) WITH ORDINALITY AS h(b, n, ord) ON true
    ) x
    GROUP BY tz, day, dim, key, b
) y
GROUP BY tz, day, dim, key;

-- +goose StatementBegin
CREATE FUNCTION events_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO event_changes (hour) SELECT DISTINCT date_trunc('hour', occurred_at) FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO event_changes (hour) SELECT DISTINCT date_trunc('hour', occurred_at) FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER events_changed_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_mark_changed();
CREATE TRIGGER events_changed_update AFTER UPDATE ON events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_mark_changed();
CREATE TRIGGER events_changed_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_mark_changed();

-- +goose Down
DROP TRIGGER events_changed_delete ON events;
DROP TRIGGER events_changed_update ON events;
DROP TRIGGER events_changed_insert ON events;
DROP FUNCTION events_mark_changed();
DROP TABLE daily_rollups;
DROP TABLE aggregate_days;
DROP TABLE event_changes;
