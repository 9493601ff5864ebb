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

# The bpftrace releases `make test` runs against: Debian 12's, installed on
# the host, and Debian 13's and unstable's, each run from a Debian root that
# scripts/bpftrace-root.sh builds once (kept in /var/cache/bpftrace-mcp) and
# reached through a wrapper given to the tests and to --bpftrace.
# `make test BPFTRACE=0.23` runs one of them.
VERSIONS := 0.17 0.23 0.27
# `make test` runs all three; `make test BPFTRACE=0.23` runs one.
BPFTRACE ?= $(VERSIONS)
suite_0.23 := trixie
suite_0.27 := sid
# Packages whose tests run bpftrace (they import internal/testenv); the
# others are unit tests, run once. bench runs with `make bench`.
INTEGRATION = $(shell $(GO) list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... | \
	awk '/ [^ ]*internal\/testenv( |$$)/ && $$1 !~ /\/(bench|internal\/testenv)$$/ {print $$1}')

test: build interop-deps ## every test: unit once, then integration and end to end against bpftrace 0.17, 0.23 and 0.27 (BPFTRACE=0.23 for one)
	@./scripts/setup.sh --test
	@for v in $(BPFTRACE); do case " $(VERSIONS) " in *" $$v "*) ;; *) echo "make test: unknown bpftrace version '$$v'; the matrix has $(VERSIONS)" >&2; exit 1;; esac; done
	@# The roots build (first run only) while the unit tests run. Every
	@# release runs, even after a unit failure, so that one run shows the
	@# state of all of them; the summary names what failed.
	@$(MAKE) --no-print-directory roots & roots=$$!; failed=; \
	$(GO) vet ./... && \
	{ test -z "$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); false; }; } && \
	CGO_ENABLED=1 $(GO) test -race -count=1 $(filter-out $(INTEGRATION),$(shell $(GO) list ./...)) || failed=" vet, gofmt or unit tests,"; \
	wait $$roots || exit 1; \
	ranwith=; for v in $(BPFTRACE); do \
		$(MAKE) --no-print-directory test-version V=$$v RAN_WITH=$$ranwith || failed="$$failed bpftrace $$v"; ranwith=$${ranwith:-$$v}; done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed (of bpftrace $(BPFTRACE))" >&2; exit 1; fi; \
	echo "make test: passed for bpftrace $(BPFTRACE)"

roots: ## build the Debian roots of bpftrace 0.23 and 0.27 for the tests (once; kept in /var/cache/bpftrace-mcp)
	@pids=; for s in $(foreach v,$(filter-out 0.17,$(BPFTRACE)),$(suite_$(v))); do \
		./scripts/bpftrace-root.sh $$s >/dev/null & pids="$$pids $$!"; done; \
	rc=0; for p in $$pids; do wait $$p || rc=1; done; \
	[ $$rc -eq 0 ] || echo "make test: a bpftrace root could not be prepared (the reason is above); the matrix cannot run without it" >&2; \
	exit $$rc

# test-version V=0.23: the integration and end-to-end suites against one
# bpftrace. A release that cannot be prepared fails the run; nothing is
# skipped for want of it.
test-matrix: ## the same as make test: every test against bpftrace 0.17, 0.23 and 0.27
	@$(MAKE) --no-print-directory test BPFTRACE="$(VERSIONS)"

test-version: build interop-deps
	@case "$(V)" in \
	0.17) bin=$$(command -v bpftrace || echo /usr/sbin/bpftrace); \
	      "$$bin" --version 2>/dev/null | grep -q 'v0\.17\.' || { echo "make test: the host's bpftrace ($$bin) is not 0.17: $$("$$bin" --version 2>&1)" >&2; exit 1; } ;; \
	*) bin=$$(./scripts/bpftrace-root.sh $(suite_$(V))) || { echo "make test: cannot prepare bpftrace $(V) (Debian $(suite_$(V))); see above" >&2; exit 1; } ;; \
	esac; \
	echo "=== bpftrace $(V): $$bin"; \
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT; \
	rc=0; \
	BPFTRACE_MCP_TEST_BPFTRACE=$$bin BPFTRACE_MCP_TEST_RAN_WITH=$(RAN_WITH) CGO_ENABLED=1 $(GO) test -race -count=1 $(INTEGRATION) || rc=1; \
	node $(INTEROP)/e2e-stdio.mjs ./$(BIN) --bpftrace "$$bin" --db "$$tmp/e2e.db" || rc=1; \
	node $(INTEROP)/e2e-http.mjs ./$(BIN) --bpftrace "$$bin" || rc=1; \
	[ $$rc -eq 0 ] || echo "=== bpftrace $(V): FAILED" >&2; exit $$rc

HELM_VERSION := v3.22.0
HELM := /var/cache/bpftrace-mcp/tools/helm
$(HELM):
	GOBIN=$(dir $(HELM)) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

# test-k8s: the fleet gateway against a real Kubernetes API server. The
# first run builds kube-apiserver from the k8s.io/kubernetes module (about
# 25 minutes on 2 cores) and fetches etcd from Debian 13; both are kept in
# /var/cache/bpftrace-mcp/k8s. The tests start them on loopback, with real
# agents tracing this host on 127.0.0.x addresses.
test-k8s: build $(HELM) interop-deps ## the fleet and the chart against a real kube-apiserver and etcd on loopback (built once, then cached)
	@./scripts/setup.sh --test
	@env=$$(./scripts/k8s-env.sh) || { echo "make test-k8s: cannot prepare kube-apiserver and etcd (the reason is above)" >&2; exit 1; }; \
	export $$env HELM=$(HELM); \
	$(GO) vet -tags k8s ./fleet/... ./internal/kubetest && \
	CGO_ENABLED=1 $(GO) test -race -tags k8s -count=1 -timeout 20m -run 'K8s' ./fleet/...

# The OCI image: the static server and Debian 13's bpftrace (0.23: the
# chart targets nodes with newer kernels than Debian 12's 0.17 was made
# for), built without a container daemon by cmd/mkimage from the root
# filesystem scripts/bpftrace-root.sh builds for the test matrix. The
# root's layer is kept in the cache between builds. Time stamps come from
# the last commit, so the same tree gives the same digest.
CACHE := $(or $(BPFTRACE_MCP_CACHE),/var/cache/bpftrace-mcp)
IMAGE := bin/bpftrace-mcp-oci.tar
IMAGE_SUITE := trixie
IMAGE_VERSION := $(shell awk '/^appVersion:/ {gsub(/"/, "", $$2); print $$2}' deploy/helm/bpftrace-mcp/Chart.yaml)
# The project's licence as an SPDX expression, for the image's label.
IMAGE_LICENSES ?= NOASSERTION

image: build ## the OCI image, bin/bpftrace-mcp-oci.tar (OCI layout): server + Debian 13's bpftrace, no daemon needed (root)
	@./scripts/bpftrace-root.sh $(IMAGE_SUITE) >/dev/null
	@SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
	$(GO) run ./cmd/mkimage -root $(CACHE)/roots/$(IMAGE_SUITE) -cache $(CACHE)/image \
		-server $(BIN) -config deploy/bpftrace-mcp.toml -version $(IMAGE_VERSION) \
		-revision "$$(git rev-parse HEAD 2>/dev/null)" -licenses "$(IMAGE_LICENSES)" -o $(IMAGE)

# test-image: the image read back, unpacked, and run: doctor and a real
# trace through the server's MCP stdio, chrooted into its layers.
test-image: image ## the OCI image read back, unpacked, and run: doctor and a real trace inside it (root)
	@./scripts/setup.sh --test
	@$(GO) vet -tags image ./internal/ociimage
	@BPFTRACE_MCP_TEST_IMAGE=$(abspath $(IMAGE)) BPFTRACE_MCP_TEST_IMAGE_REF=$(IMAGE_VERSION) \
		$(GO) test -tags image -count=1 -timeout 10m -run '^TestImage$$' -v ./internal/ociimage

chart: $(HELM) ## lint the Helm chart and render its manifests into deploy/k8s/bpftrace-mcp.yaml
	$(HELM) lint deploy/helm/bpftrace-mcp
	@{ echo "# Rendered from deploy/helm/bpftrace-mcp by \`make chart\`; do not edit."; \
	  $(HELM) template bpftrace-mcp deploy/helm/bpftrace-mcp --namespace bpftrace-mcp; } > deploy/k8s/bpftrace-mcp.yaml

e2e: build interop-deps ## end-to-end tests through the official TypeScript MCP client, every answer within the ceiling
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		node $(INTEROP)/e2e-stdio.mjs ./$(BIN) --db "$$tmp/e2e.db" && \
		node $(INTEROP)/e2e-budget.mjs ./$(BIN) --db "$$tmp/budget.db"

e2e-http: build interop-deps ## end-to-end tests over Streamable HTTP: TS SDK, Inspector CLI, conformance suite (loopback)
	node $(INTEROP)/e2e-http.mjs ./$(BIN)

bench: setup build ## benchmarks, as ratios against raw bpftrace measured in the same run
	$(GO) test -run '^$$' -bench 'BenchmarkListVsBpftrace|BenchmarkDescribe' -benchtime 1000x ./catalog
	$(GO) test -run '^$$' -bench . -benchtime 20x ./store ./bpftrace/output
	$(GO) test -run '^$$' -bench 'BenchmarkMergeNodes' -benchtime 3x -timeout 30m ./fleet
	BPFTRACE_MCP_BENCH=1 $(GO) test -run '^TestBench' -count=1 -v -timeout 30m ./bench

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@$(GO) list -f '{{.Dir}}' ./... | while read d; do \
		for f in $$(cd $$d && $(GO) test -list '^Fuzz' . 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$d $$f"; (cd $$d && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20s} .) || exit 1; \
		done; done

clean: ## remove build output
	rm -rf bin

.PHONY: help setup build run interop-deps chart image test test-matrix test-k8s test-image test-version roots e2e e2e-http bench fuzz clean
