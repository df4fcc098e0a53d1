# Throughcare: build, run and test targets. `make help` lists them.
SHELL := bash
.DELETE_ON_ERROR:
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

# Pinned tool versions. Generation must be byte-for-byte reproducible, so
# these change only on purpose (and `make generate` is rerun when they do).
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
CONNECT_VERSION := v1.21.1
GOLANGCI_VERSION := v2.15.0

BIN := $(CURDIR)/.tmp/bin
export PATH := $(BIN):$(PATH)
export GOBIN := $(BIN)

# Test knobs: FUZZTIME for `make fuzz`, BENCHTIME for `make bench` (AGENDA_BENCHTIME for its
# BenchmarkAgenda),
# DURATION for `make soak` (and SOAKFLAGS, e.g. `-- --memory-limit 805306368`).
FUZZTIME ?= 30s
BENCHTIME ?= 1x
AGENDA_BENCHTIME ?= 20x
# BENCHCOUNT: runs of each benchmark for `make bench-stores` (the report gives medians).
BENCHCOUNT ?= 3
DURATION ?= 20m
SOAKFLAGS ?=

.PHONY: help
help: ## Describe useful make targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: run
run: ## Build and start the server on 127.0.0.1:8080 with data in ./data
	go build -o bin/throughcare-server ./cmd/throughcare-server
	./bin/throughcare-server

.PHONY: build
build: ## Build the binaries into ./bin
	go build -o bin/ ./cmd/...

.PHONY: test
test: ## Run every test (unit, property, conformance, crash, e2e, fuzz seeds)
	go vet ./...
	go test -race -count=1 -timeout 20m ./...

# BenchmarkAgenda runs on its own with AGENDA_BENCHTIME: the tablet's
# agenda reads take milliseconds, so one run says little.
.PHONY: bench
bench: ## Run the benchmarks and report throughput figures
	go test -run '^$$' -bench . -skip '^BenchmarkAgenda$$' -benchtime $(BENCHTIME) -benchmem -timeout 30m ./...
	go test -run '^$$' -bench '^BenchmarkAgenda$$' -benchtime $(AGENDA_BENCHTIME) -benchmem -timeout 30m ./client-sdk/caseload/
	$(MAKE) bench-real SIZE=$(REAL_SIZE)

# The API benchmarks run on both stores (Badger, PostgreSQL: server/api/stores_bench_test.go);
# e2e/benchstores puts the two side by side with medians and ratios.
STORE_BENCHES := ^Benchmark(PushIngest|PullFresh100k|PullDelta|ReconnectFleet)$$
.PHONY: bench-stores
bench-stores: ## Run the API benchmarks on Badger and PostgreSQL BENCHCOUNT times; write .tmp/bench-stores.md
	@mkdir -p .tmp
	@# One run of both stores at a time (not -count, which runs one store's repeats together), so
	@# a change in the machine's load falls on both.
	: > .tmp/bench-stores.txt
	for i in $$(seq $(BENCHCOUNT)); do \
	  go test -run '^$$' -bench '$(STORE_BENCHES)' -benchtime $(BENCHTIME) -benchmem -timeout 60m ./server/api/ | tee -a .tmp/bench-stores.txt; \
	done
	{ echo "# API benchmarks on both stores"; echo; echo "$$(date -u '+%F %H:%M UTC'), $$(go version), $$(nproc) CPUs, load average $$(cut -d' ' -f1-3 /proc/loadavg) at the end; BENCHTIME=$(BENCHTIME), BENCHCOUNT=$(BENCHCOUNT)."; echo; go run ./e2e/benchstores < .tmp/bench-stores.txt; } > .tmp/bench-stores.md
	@echo "wrote .tmp/bench-stores.md"

# The real server binary at real sizes on the peers' workload (issue 16): ingest, idle RSS, a
# fresh tablet's full sync (time, wire bytes, server and tablet RSS), the reconnect storm. make
# bench runs it at REAL_SIZE; not part of make test. SIZE: 10k, 100k or 1m (minutes).
SIZE ?= 10k
# REAL_SIZE: the size `make bench` runs it at (REAL_SIZE=1m for a million: tens of minutes).
REAL_SIZE ?= 100k
.PHONY: bench-real
bench-real: ## Seed SIZE (10k|100k|1m) peer-workload contacts into the real server, then the reconnect storms (500, 1,000 tablets); write .tmp/realbench.md and .json
	go run ./e2e/realbench -size $(SIZE) -out .tmp

.PHONY: soak
soak: ## Drive the real server with a steady load for DURATION (default 20m) and report its memory (Markdown)
	go run ./e2e/soak -duration $(DURATION) $(SOAKFLAGS)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$(go list ./...); do \
	  for target in $$(go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: generate
generate: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-connect-go ## Regenerate the Go code from the .proto files and the console's schema.js from the registry
	buf format -w
	buf lint
	buf generate
	go run ./server/console/internal/schemajs -o server/console/static/js/schema.js

.PHONY: checkgenerate
checkgenerate: generate ## Fail if generated code is out of date
	@test -z "$$(git status --porcelain -- syncproto server/console/static/js/schema.js | tee /dev/stderr)" || { echo "generated code differs: run make generate and commit"; exit 1; }

.PHONY: breaking
breaking: $(BIN)/buf ## Check the proto against main for breaking changes
	buf breaking --against '.git#branch=main'

.PHONY: lint
lint: $(BIN)/buf $(BIN)/golangci-lint ## Lint Go and proto
	go vet ./...
	golangci-lint run ./...
	buf lint
	buf format -d --exit-code

.PHONY: clean
clean: ## Remove build output and tools
	rm -rf bin .tmp

$(BIN)/buf: Makefile
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@

$(BIN)/protoc-gen-go: Makefile
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@

$(BIN)/protoc-gen-connect-go: Makefile
	go install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(CONNECT_VERSION)
	@touch $@

$(BIN)/golangci-lint: Makefile
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	@touch $@
