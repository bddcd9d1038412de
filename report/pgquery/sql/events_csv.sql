-- events_csv: the rows of the events CSV of [from, to) formatted by PostgreSQL, exactly as
-- report/xlsx.EventsCSV.Write formats an event (the columns of the Events sheet; times in
-- RFC 3339 with their offset in the session's time zone, fractional seconds without trailing
-- zeros and Z for UTC; costs exact without trailing zeros, empty when unpriced; text made inert
-- with a leading apostrophe and without CR, which encoding/csv drops), for COPY … TO STDOUT
-- (FORMAT csv). The caller sets the session time zone, substitutes the range for :from and :to
-- (COPY takes no parameters) and turns each LF into CRLF. The time is PostgreSQL's own ISO
-- output (DateStyle ISO: fractional seconds already without trailing zeros) with a T and the
-- offset completed: to_char would cost half of the whole query. Every column is text and never NULL,
-- so that an empty field is written unquoted.
SELECT CASE WHEN substr(t, length(t) - 2, 1) NOT IN ('+', '-') THEN t  -- +05:30
            WHEN right(t, 3) IN ('+00', '-00') THEN left(t, -3) || 'Z'
            ELSE t || ':00' END,                                          -- +09 → +09:00
       /*inert event_id*/, /*inert service*/, /*inert model*/, /*inert provider*/,
       input_tokens::text, output_tokens::text, cache_read_tokens::text, cache_write_tokens::text,
       reasoning_tokens::text, coalesce(trim_scale(cost)::text, ''), /*inert cost_source*/,
       coalesce(duration_ms::text, ''), success::text, /*inert error*/, cache_hit::text,
       /*inert user_id*/, /*inert org_id*/, /*inert endpoint*/, /*inert tags::text*/
FROM (SELECT *, overlay(occurred_at::text PLACING 'T' FROM 11 FOR 1) AS t FROM events
      WHERE occurred_at >= :from AND occurred_at < :to) e
ORDER BY occurred_at, event_id
