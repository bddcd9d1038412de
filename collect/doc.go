// Package collect is the HTTP intake of AI request events: the event shape and its validation,
// authentication, the status codes of the API, health and metrics. It holds no SQL; storage is
// behind EventStore, implemented by collect/pgstore. The bodies of the read API and of
// GET /v1/budgets are report/api's types, answered by its ReadSource and BudgetSource.
//
// The API at a glance:
//
//	POST /v1/events   one event, a JSON array, or NDJSON → 200 {"accepted": N, "duplicates": M}
//	POST /v1/traces   OTLP/HTTP trace export; each span with GenAI usage becomes an event (otlp.go)
//	GET  /v1/budgets  budget status for applications (when a BudgetSource is configured)
//	GET  /v1/stats, /v1/daily, /v1/top, /v1/alerts   the read API, read or admin tokens (read.go)
//	POST /v1/alerts/test   a sample alert, admin tokens (read.go)
//	GET  /healthz     alive
//	GET  /readyz      database reachable and, with enforced budgets, their spend read once
//	GET  /metrics     Prometheus text
package collect
