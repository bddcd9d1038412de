-- aggregate_zones: the time zones that have current aggregates: the ones a consumed change
-- mark is applied to.
SELECT DISTINCT tz FROM aggregate_days
