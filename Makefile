# vtmeta — a Vitess operator built from Metacontroller lambda controllers.
# Every tool is pinned here and installed through the Go module proxy into
# ./bin, so a fresh machine needs nothing but Go. `make help` lists targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT   := $(abspath .)
BIN    := $(ROOT)/bin
MODULE := github.com/vtmeta/vtmeta
LAYERS := cluster cell keyspace shard tablet
# Every Go module of the workspace; each must also build on its own.
MODULES := . proto $(addprefix services/,$(LAYERS)) cmd/vtmeta test/e2e
# The layers that have a service yet (a main.go).
SERVICES := $(patsubst services/%/main.go,%,$(wildcard services/*/main.go))
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The demo commands build without DWARF, with the flags the plane's
# binaries build with (test/e2e/plane.BuildFlags; TestDemoBuildFlags), so
# the plane's first build reuses the packages the demo's build compiled;
# one more package at a time than there are cores, as the plane's builds.
DEMO_BUILD := -gcflags=all=-dwarf=false -ldflags=-w
# Before the plane is first built, its modules download in the background
# while the demo command compiles (the plane's build waits on none).
PLANE_PREFETCH := [ -e test/e2e/.bin/versions ] || { cd test/e2e/plane/binaries && GOWORK=off go list -deps ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/etcd sigs.k8s.io/kwok/cmd/kwok >/dev/null 2>&1 & }

# Pinned tools (Go module proxy).
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION       := v2.33.0
STATICCHECK_VERSION        := v0.8.2
PROMETHEUS_VERSION         := v0.316.0
# The Vitess release whose flag lists vtmeta checks extra flags against
# (internal/vtflags/known.go, written by make generate); upgrading Vitess is
# this pin, the default image in internal/spec, and make generate.
VITESS_VERSION             := v0.24.4
IMAGE_REPO                 ?= ghcr.io/vtmeta

BUF := $(BIN)/buf
TOOLS := $(BUF) $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc \
	$(BIN)/protoc-gen-grpc-gateway $(BIN)/staticcheck

export GOBIN := $(BIN)
export GOFLAGS := -buildvcs=false

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
		/^[a-zA-Z0-9_.-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } \
		/^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

.PHONY: tools
tools: $(TOOLS) ## Install the pinned tools into ./bin.

# Each tool is rebuilt when this Makefile (and so its pin) changes.
$(BUF): Makefile
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(BIN)/protoc-gen-go: Makefile
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(BIN)/protoc-gen-go-grpc: Makefile
	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@
$(BIN)/protoc-gen-grpc-gateway: Makefile
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
	@touch $@
$(BIN)/staticcheck: Makefile
	go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@
$(BIN)/promtool: Makefile
	go install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)
	@touch $@

##@ Code generation

.PHONY: generate
generate: $(TOOLS) ## Regenerate Go, gRPC, gateway code, CRDs and the API reference (docs/api.md) from proto/, and the Vitess flag lists (VITESS_VERSION).
	go build -o $(BIN)/protoc-gen-vtmeta-crd ./cmd/protoc-gen-vtmeta-crd
	go build -o $(BIN)/protoc-gen-vtmeta-doc ./cmd/protoc-gen-vtmeta-doc
	cd proto && $(BUF) format -w && $(BUF) generate
	go run ./cmd/vtflagsgen -version $(VITESS_VERSION) -o internal/vtflags/known.go

.PHONY: verify
verify: generate ## Fail when generated code, CRDs or docs/api.md are stale, the API broke compatibility, or a markdown link, anchor or `make` target does not resolve.
	cd proto && $(BUF) lint
	@if git cat-file -e main:proto/buf.yaml 2>/dev/null; then \
		echo "buf breaking against main"; \
		(cd proto && $(BUF) breaking --against '$(ROOT)/.git#branch=main,subdir=proto'); \
	else echo "buf breaking: main has no proto/ yet, nothing to compare"; fi
	@if [ -n "$$(git status --porcelain -- proto deploy/crds internal/vtflags/known.go docs/api.md)" ]; then \
		echo "generated files are stale; run 'make generate' and commit:"; \
		git status --porcelain -- proto deploy/crds internal/vtflags/known.go docs/api.md; git diff --stat -- proto deploy/crds internal/vtflags/known.go docs/api.md; exit 1; \
	fi
	@echo "generated code, CRDs and docs/api.md are current"
	go run ./cmd/mdcheck
	@for m in $(MODULES); do \
		(cd $$m && go mod tidy -diff >/dev/null 2>&1) || { echo "$$m: go.mod/go.sum not tidy; run 'go mod tidy' there"; exit 1; }; \
		if [ -n "$$(cd $$m && GOWORK=off go list ./... 2>/dev/null)" ]; then \
			(cd $$m && GOWORK=off go build ./...) || { echo "$$m does not build outside the workspace"; exit 1; }; \
		fi; \
	done
	@echo "every module is tidy and builds on its own (GOWORK=off)"

##@ Quality

.PHONY: lint
lint: $(BIN)/staticcheck $(BUF) ## gofmt, go vet, staticcheck and buf lint.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(MODULE)/...
	$(BIN)/staticcheck $(MODULE)/...
	cd proto && $(BUF) lint

.PHONY: test
test: test-unit deploy-check test-sim test-e2e test-vitess ## Run every test (the README's test command): the fast ones first, the real control plane, then real Vitess on a real node.

.PHONY: test-sim
test-sim: ## The five layers' real hooks on a simulated control plane, driven by the Metacontroller stand-in: scenarios end to end.
	go test -count=1 $(MODULE)/test/e2e/sim/... $(MODULE)/test/e2e/standin/...

.PHONY: test-unit
test-unit: ## Unit, golden, HTTP and gRPC tests of every module.
	go test -count=1 $$(go list $(MODULE)/... | grep -v '^$(MODULE)/test/e2e/')

.PHONY: test-e2e
test-e2e: ## End to end on a real control plane: etcd, kube-apiserver, controller-manager, scheduler and kwok built from Go modules (about 15 minutes the first time on 2 cores), the five services, and Metacontroller (the real one when METACONTROLLER_BIN names a binary, else the stand-in).
	VTMETA_E2E=1 go test -count=1 -timeout 40m -v $(MODULE)/test/e2e/plane/...

.PHONY: test-vitess
test-vitess: ## Real Vitess and MySQL on a real node (root, Debian): the mysqld image checked alone (chroot); each shard seeded by vtbackup, vtorc elects the primaries, SQL through both cells' vtgates on the spec's VSchema; under load, scheduled backups with retention, an image rollout (primaries moved from the preStop), a primary crash, a drain and a lost volume restored from backup keep every acknowledged write; every series the dashboards and alerts select scraped from the real processes; a new cluster restores every row from a deleted one's backups (METACONTROLLER_BIN: the real Metacontroller).
	VTMETA_E2E=1 go test -p 1 -count=1 -timeout 80m -v $(MODULE)/test/e2e/realnode/images/... $(MODULE)/test/e2e/vitess/...

.PHONY: test-realnode
test-realnode: ## A real node on the control plane (root, Debian): kubelet, kube-proxy, CoreDNS and Vitess built from Go modules, containerd from Debian, MySQL 9.7 from Debian sid; a Pod runs Vitess and MySQL; the mysqld image checked alone (chroot). The node alone, for debugging it; `make test` runs test-vitess, which builds on it.
	VTMETA_E2E=1 go test -count=1 -timeout 60m -v $(MODULE)/test/e2e/realnode/...

.PHONY: deploy-check
deploy-check: $(BIN)/promtool ## Render and check deploy/: overlays, components, selectors, images, metrics, alert rules.
	go test -count=1 $(MODULE)/test/e2e/deploycheck/...
	$(BIN)/promtool check rules deploy/monitoring/rules.yaml
	cd deploy/monitoring && $(BIN)/promtool test rules rules_test.yaml

# FUZZTIME is how much each layer is fuzzed: a count of executions (Nx) by
# default. A duration works too, but Go before 1.27 can fail a duration run
# at its end with a bare "context deadline exceeded" and no failing input
# (golang/go#75804, a race in its fuzzing coordinator); a count has no
# deadline to race.
FUZZTIME ?= 300000x
# FUZZMINIMIZE bounds the minimizing of each new input. Go's default (60s)
# spends a short run minimizing the first input that finds new coverage:
# 10 s runs made about 20 executions, not tens of thousands.
FUZZMINIMIZE ?= 200x
.PHONY: fuzz
fuzz: ## Fuzz each layer's whole HTTP handler for FUZZTIME each (default 300000x executions, about a minute); a crasher lands in services/<layer>/layer/testdata/fuzz and fails the target.
	@for l in $(LAYERS); do \
		echo "fuzz the $$l layer for $(FUZZTIME)"; \
		(cd services/$$l && go test -run '^$$' -fuzz '^FuzzHTTP$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./layer/) || exit 1; \
	done

SOAK_FLAGS ?=
.PHONY: soak
soak: ## Load driver: each layer service as a process, 200 clients for 60s, then with 128 hostile connections; throughput, p99, peak RSS (SOAK_FLAGS: -bin, -clients, -duration, -hostile, -layers; -worst: the worst request each layer admits).
	go run ./test/e2e/cmd/soak $(SOAK_FLAGS)

.PHONY: bench
bench: ## Benchmarks of the hook paths (ratios to encoding/json.Valid; see docs/benchmarks.md).
	go test -run '^$$' -bench . -benchmem -count=1 $(MODULE)/services/cluster/... $(MODULE)/services/cell/... $(MODULE)/services/keyspace/... $(MODULE)/services/shard/... $(MODULE)/services/tablet/... $(MODULE)/internal/kjson/...

##@ Build

.PHONY: build
build: ## Build the hook services and the CLI into ./bin (the CLI also as kubectl-vtmeta: put ./bin on PATH for `kubectl vtmeta`).
	@for l in $(SERVICES); do \
		echo "go build services/$$l"; \
		(cd services/$$l && go build -ldflags "-X $(MODULE)/internal/hook.Version=$(VERSION)" -o $(BIN)/vtmeta-$$l .); \
	done
	cd cmd/vtmeta && go build -ldflags "-X main.Version=$(VERSION)" -o $(BIN)/vtmeta .
	cp $(BIN)/vtmeta $(BIN)/kubectl-vtmeta

.PHONY: images
images: ## Build one container image per layer service (needs a container engine; none runs on the CI machines).
	@for l in $(LAYERS); do \
		docker build --build-arg LAYER=$$l --build-arg VERSION=$(VERSION) -t $(IMAGE_REPO)/vtmeta-$$l:$(VERSION) . ; \
	done

.PHONY: demo
demo: ## vtmeta at work on a real control plane built here: the original example comes up Ready, then an image edit rolls through; Ctrl-C tears it down (METACONTROLLER_BIN: the real Metacontroller).
	@$(PLANE_PREFETCH)
	go build -p $$(( $$(nproc) + 1 )) $(DEMO_BUILD) -o $(BIN)/vtmeta-demo ./test/e2e/cmd/demo
	$(BIN)/vtmeta-demo -f deploy/examples/original/my-vitess.yaml $(DEMO_FLAGS)

.PHONY: demo-vitess
demo-vitess: ## Real Vitess and MySQL on a real node here (root, Debian): the Vitess scenario's cluster comes up, vtorc elects its primaries; prints how to connect with the MySQL client it built; Ctrl-C tears it down.
	@$(PLANE_PREFETCH)
	go build -p $$(( $$(nproc) + 1 )) $(DEMO_BUILD) -o $(BIN)/vtmeta-demo-vitess ./test/e2e/cmd/demo-vitess
	$(BIN)/vtmeta-demo-vitess $(DEMO_FLAGS)

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf $(BIN)
