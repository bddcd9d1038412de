# aispend — see README.md. `make demo` and `make test` work on a fresh machine with Go and the
# PostgreSQL server binaries installed and no server running.
GO      ?= go
BIN     := bin/aispend
TOOLS   := $(CURDIR)/bin/tools
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export PATH := $(TOOLS):$(PATH)

.PHONY: build test bench demo tools vet clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/aispend

# Test servers, pinned; installed once into bin/tools.
tools:
	@mkdir -p $(TOOLS)
	@test -x $(TOOLS)/mailpit || GOBIN=$(TOOLS) $(GO) install github.com/axllent/mailpit@v1.33.1

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
