# bpftrace-mcp: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/bpftrace-mcp
INTEROP := test/interop

.DEFAULT_GOAL := help

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## install bpftrace when missing and mount tracefs (root)
	@./scripts/setup.sh

build: ## build bin/bpftrace-mcp
	@CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/bpftrace-mcp >&2

run: setup build ## set up, build and serve MCP on stdio (flags: make run ARGS="--db /tmp/x.db")
	@exec ./$(BIN) $(ARGS)

$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

interop-deps: $(INTEROP)/node_modules/.package-lock.json ## install the pinned third-party MCP clients (npm)

test: build interop-deps ## set up, then run every test: unit, integration (real bpftrace), end to end
	@./scripts/setup.sh --test
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory e2e-http

e2e: build interop-deps ## end-to-end tests through the official TypeScript MCP client
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		node $(INTEROP)/e2e-stdio.mjs ./$(BIN) --db "$$tmp/e2e.db"

e2e-http: build interop-deps ## end-to-end tests over Streamable HTTP: TS SDK, Inspector CLI, conformance suite (loopback)
	node $(INTEROP)/e2e-http.mjs ./$(BIN)

bench: setup build ## benchmarks, as ratios against raw bpftrace measured in the same run
	$(GO) test -run '^$$' -bench 'BenchmarkListVsBpftrace|BenchmarkDescribe' -benchtime 1000x ./catalog
	$(GO) test -run '^$$' -bench . -benchtime 20x ./store ./bpftrace/output
	BPFTRACE_MCP_BENCH=1 $(GO) test -run '^TestBench' -count=1 -v -timeout 30m ./bench

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@$(GO) list -f '{{.Dir}}' ./... | while read d; do \
		for f in $$(cd $$d && $(GO) test -list '^Fuzz' . 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$d $$f"; (cd $$d && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20s} .) || exit 1; \
		done; done

clean: ## remove build output
	rm -rf bin

.PHONY: help setup build run interop-deps test e2e e2e-http bench fuzz clean
