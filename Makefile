# aispend — see README.md. `make demo` and `make test` work on a fresh machine with Go and the
# PostgreSQL server binaries installed and no server running.
GO      ?= go
BIN     := bin/aispend
TOOLS   := $(CURDIR)/bin/tools
VERSITYGW := v1.8.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export PATH := $(TOOLS):$(PATH)

.PHONY: build test bench demo tools vet clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/aispend

# Test servers, pinned; installed once into bin/tools.
tools:
	@mkdir -p $(TOOLS)
	@test -x $(TOOLS)/versitygw -a -f $(TOOLS)/.versitygw-$(VERSITYGW) || { \
		echo "installing versitygw $(VERSITYGW) (S3 server for tests; takes a few minutes)"; \
		GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW) && \
		touch $(TOOLS)/.versitygw-$(VERSITYGW); }

vet:
	$(GO) vet ./...

test: tools vet
	$(GO) test -count=1 -timeout 60m ./...

bench: build
	$(GO) run ./cmd/aispend-bench

demo: build
	./scripts/demo.sh

clean:
	rm -rf bin out/*
	touch out/.gitkeep
