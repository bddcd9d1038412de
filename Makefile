# aispend — see README.md. `make demo` and `make test` work on a fresh machine with Go and the
# PostgreSQL server binaries installed and no server running.
GO      ?= go
BIN     := bin/aispend
TOOLS   := $(CURDIR)/bin/tools
VERSITYGW := v1.8.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export PATH := $(TOOLS):$(PATH)

.PHONY: build test test-citus citus bench bench-decide bench-scale demo tools vet clean assets fuzz fuzz-short genai-prices client-ts-deps openapi-lint screenshots otlpjs slack-types

build: assets
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/aispend

# Test servers, pinned; installed once into bin/tools.
tools:
	@mkdir -p $(TOOLS)
	@test -x $(TOOLS)/versitygw -a -f $(TOOLS)/.versitygw-$(VERSITYGW) || { \
		echo "installing versitygw $(VERSITYGW) (S3 server for tests; takes a few minutes)"; \
		GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW) && \
		touch $(TOOLS)/.versitygw-$(VERSITYGW); }
	@test -x $(TOOLS)/mailpit || GOBIN=$(TOOLS) $(GO) install github.com/axllent/mailpit@v1.33.1
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

# The chart library for the report site (report/site/assets): pinned by package-lock.json, fetched
# from the npm registry at build time, never committed (only dist/README is), embedded by
# report/site with go:embed. Without it `go build ./...` still works, but the binary refuses to
# render pages and says to build with `make build`.
SITE_ASSETS := report/site/assets
assets: $(SITE_ASSETS)/dist/echarts.min.js

$(SITE_ASSETS)/dist/echarts.min.js: $(SITE_ASSETS)/package.json $(SITE_ASSETS)/package-lock.json
	@command -v npm >/dev/null || { echo "make assets needs npm: apt-get install -y npm (or install Node.js)" >&2; exit 1; }
	rm -rf bin/npm-assets && mkdir -p bin/npm-assets $(SITE_ASSETS)/dist
	cp $(SITE_ASSETS)/package.json $(SITE_ASSETS)/package-lock.json bin/npm-assets/
	cd bin/npm-assets && npm ci --ignore-scripts --no-audit --no-fund
	cp bin/npm-assets/node_modules/echarts/LICENSE bin/npm-assets/node_modules/echarts/NOTICE $(SITE_ASSETS)/dist/
	cp bin/npm-assets/node_modules/echarts/licenses/LICENSE-d3 $(SITE_ASSETS)/dist/
	cp bin/npm-assets/node_modules/zrender/LICENSE $(SITE_ASSETS)/dist/LICENSE-zrender
	cp bin/npm-assets/node_modules/echarts/dist/echarts.min.js $(SITE_ASSETS)/dist/
	rm -rf bin/npm-assets

# The OpenAPI linter, @redocly/cli pinned by collect/openapi-lint/package-lock.json and installed
# into bin/openapi-lint; make test runs it on collect/openapi.json, and any error fails the build.
# Telemetry and the update check are off: nothing but the npm install reaches the network.
OPENAPI_LINT := collect/openapi-lint
OPENAPI_LINT_BIN := bin/openapi-lint
openapi-lint: $(OPENAPI_LINT_BIN)/.installed
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(OPENAPI_LINT_BIN)/node_modules/.bin/redocly lint \
		--config $(OPENAPI_LINT)/redocly.yaml --format stylish collect/openapi.json

$(OPENAPI_LINT_BIN)/.installed: $(OPENAPI_LINT)/package.json $(OPENAPI_LINT)/package-lock.json
	@command -v npm >/dev/null || { echo "make openapi-lint needs npm: apt-get install -y npm (or install Node.js)" >&2; exit 1; }
	rm -rf $(OPENAPI_LINT_BIN) && mkdir -p $(OPENAPI_LINT_BIN)
	cp $(OPENAPI_LINT)/package.json $(OPENAPI_LINT)/package-lock.json $(OPENAPI_LINT_BIN)/
	cd $(OPENAPI_LINT_BIN) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The independent price calculator that the pricing tests compare with: the npm package
# @pydantic/genai-prices, pinned by package-lock.json, installed into its folder (node_modules is
# not committed). Its bundled catalog is also the test's catalog file.
GENAI_PRICES := collect/pricing/testdata/genai-prices
genai-prices: $(GENAI_PRICES)/node_modules/.package-lock.json

$(GENAI_PRICES)/node_modules/.package-lock.json: $(GENAI_PRICES)/package.json $(GENAI_PRICES)/package-lock.json
	@command -v npm >/dev/null || { echo "make genai-prices needs npm: apt-get install -y npm (or install Node.js)" >&2; exit 1; }
	cd $(GENAI_PRICES) && npm ci --ignore-scripts --no-audit --no-fund

# The TypeScript client's build and test dependencies (collect/client-ts: the compiler, Node's
# types and the provider SDKs whose types the usage mappers are checked against), pinned by its
# package-lock.json. The client itself has no runtime dependencies.
CLIENT_TS := collect/client-ts
client-ts-deps: $(CLIENT_TS)/node_modules/.package-lock.json

$(CLIENT_TS)/node_modules/.package-lock.json: $(CLIENT_TS)/package.json $(CLIENT_TS)/package-lock.json
	@command -v npm >/dev/null || { echo "the TypeScript client's tests need Node.js 18+ and npm: apt-get install -y nodejs npm" >&2; exit 1; }
	cd $(CLIENT_TS) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The OpenTelemetry JavaScript SDK and OTLP/HTTP exporter that cmd/aispend/otlp_test.go runs
# against the collector: pinned by collect/otlpjs/package-lock.json, never committed.
OTLPJS := collect/otlpjs
otlpjs: $(OTLPJS)/node_modules/.package-lock.json

$(OTLPJS)/node_modules/.package-lock.json: $(OTLPJS)/package.json $(OTLPJS)/package-lock.json
	@command -v npm >/dev/null || { echo "make otlpjs needs npm: apt-get install -y npm (or install Node.js)" >&2; exit 1; }
	cd $(OTLPJS) && npm ci --ignore-scripts --no-audit --no-fund

# Slack's Block Kit types (@slack/types), Node's types and the TypeScript compiler, with which
# report/channel's tests type-check the Slack messages and compile the README's signature check:
# pinned by report/channel/slacktypes/package-lock.json, never committed.
SLACK_TYPES := report/channel/slacktypes
slack-types: $(SLACK_TYPES)/node_modules/.package-lock.json

$(SLACK_TYPES)/node_modules/.package-lock.json: $(SLACK_TYPES)/package.json $(SLACK_TYPES)/package-lock.json
	@command -v npm >/dev/null || { echo "make slack-types needs npm: apt-get install -y npm (or install Node.js)" >&2; exit 1; }
	cd $(SLACK_TYPES) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

vet: assets
	$(GO) vet ./...

test: tools assets genai-prices client-ts-deps otlpjs slack-types vet openapi-lint fuzz-short
	$(GO) test -count=1 -timeout 60m ./...
	$(GO) test -count=1 -race -run 'TestFailedCopyDropsBuffer|TestOppositeOrdersDoNotDeadlock' ./collect/pgstore

# The tests of the store, the collector, the batch job and the read API, and the demo, on Citus: a private
# coordinator and two workers on loopback (collect/pglocal), or the cluster whose coordinator
# CITUS_DATABASE_URL names (superuser URL of its maintenance database). See README "Scaling".
CITUS_PACKAGES ?= ./collect/pgstore ./collect ./report/pgquery ./report
test-citus: citus assets
	TEST_CITUS=1 $(GO) test -count=1 -timeout 60m $(CITUS_PACKAGES)
	TEST_CITUS=1 $(GO) test -count=1 -run 'TestDemoOnDatabase' ./cmd/aispend

# Citus for the PostgreSQL 15 on the PATH, built from the source tarball in ../shared/citus
# unless installed already (elsewhere: Citus's own packages, e.g. postgresql-15-citus-13.2).
CITUS_INSTALL ?= $(CURDIR)/../shared/citus/install.sh
citus:
	@test -n "$$CITUS_DATABASE_URL" || test -f "$$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/citus.so" || { 		test -x "$(CITUS_INSTALL)" -o -f "$(CITUS_INSTALL)" || { echo "Citus is not installed and $(CITUS_INSTALL) is missing: install Citus 13 for PostgreSQL 15 (packages from citusdata), or set CITUS_DATABASE_URL" >&2; exit 1; }; 		bash "$(CITUS_INSTALL)"; }

# Fuzz targets, as package:target (go test -fuzz takes one package and one target at a time).
# Seed corpora: testdata/fuzz/<target> in each package; failures found are written there too.
FUZZ_TARGETS := ./collect:FuzzDecodeEvents ./collect:FuzzDecodeTraces ./collect:FuzzDecodeDecideFast ./collect:FuzzDecideAnswerJSON ./collect:FuzzAmount ./collect:FuzzEntityTable ./collect:FuzzJudgeAmounts ./collect/pgstore:FuzzCopyEncoder ./cmd/aispend:FuzzLoadConfig ./collect/pricing:FuzzPrice ./report/sheet:FuzzInertText
FUZZTIME ?= 10m
# make test's short runs count executions, not time: a time box that ends while an input is
# being processed fails the run (context deadline exceeded), by chance on a busy machine.
FUZZTIME_SHORT ?= 3000x

# Each target for FUZZTIME (default 10 minutes).
fuzz: assets
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done

# Each target for a few seconds: part of make test.
fuzz-short: assets
	@for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME_SHORT) $${t%%:*} || exit 1; \
	done

# Ingest benchmark (collector binary on a private durable PostgreSQL vs COPY); BENCH_EVENTS=n to resize.
bench: assets
	$(GO) test -run '^$$' -bench Ingest -benchtime 1x -timeout 30m ./cmd/aispend
	$(GO) test -run '^$$' -bench EventsCSV -benchtime 3x ./report/sheet

# Loads 30 days of sample data into a private PostgreSQL (or $DATABASE_URL) and runs the batch.
# DEMO_FLAGS passes flags, e.g. make demo DEMO_FLAGS="--events 1000000 --keep".
SHOTS_OUT ?= $(or $(TMPDIR),/tmp)/aispend-screenshots-demo

demo: assets build
	./$(BIN) demo $(DEMO_FLAGS)

# The README's screenshots (report/screenshots/*.png), from a fresh demo in a temporary directory:
# the latest daily page, a CRITICAL alert and the latest digest, at desktop width and at 390 px.
screenshots: assets build
	rm -rf $(SHOTS_OUT) && AISPEND_OUTPUT=$(SHOTS_OUT) ./$(BIN) demo $(DEMO_FLAGS)
	go run ./report/screenshots -out report/screenshots $(SHOTS_OUT)

clean:
	rm -rf bin out/* $(SLACK_TYPES)/node_modules $(CLIENT_TS)/node_modules $(CLIENT_TS)/build $(CLIENT_TS)/dist
	touch out/.gitkeep

# Decide benchmark: POST /v1/decide for BENCH_ENTITIES users (default 100,000) in an enforced
# per-user envelope, 64 clients, while the same collector ingests; see README "Performance".
bench-decide: assets
	$(GO) test -run '^$$' -bench Decide -benchtime 1x -timeout 30m ./cmd/aispend

# Scale benchmark (batch commands on SCALE_EVENTS demo events, default 10,000,000, beside raw-SQL
# baselines of the same run); see README "Figures". Takes about 15 minutes.
bench-scale: assets
	$(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 90m ./cmd/aispend
