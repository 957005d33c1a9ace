# Landfall — run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

K8S_VERSION      ?= v1.37.2
export LANDFALL_TESTBIN ?= $(HOME)/.cache/landfall/testbin/$(K8S_VERSION)
CLUSTER_DIR      ?= $(HOME)/.cache/landfall/cluster
BIN              := $(CURDIR)/bin
GOLANGCI_VERSION ?= v2.15.0
# The Go tools of the build, kept outside the clone by version: built once per machine, not
# once per clone or worktree.
TOOLS_DIR        ?= $(HOME)/.cache/landfall/tools
# controller-gen is built from its module in test/tools/controller-gen, aligned with go.mod
# (hack/align-tools.sh); the binary is named after that module's go.sum, so a new version or
# alignment builds a new one.
CONTROLLER_GEN   := $(TOOLS_DIR)/controller-gen-$(shell sha256sum test/tools/controller-gen/go.sum | cut -c1-12)
GOLANGCI_LINT    := $(TOOLS_DIR)/golangci-lint-$(GOLANGCI_VERSION)
VERSION          ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Packages run in parallel: each starts its own apiserver or cluster on free ports.
TEST_PARALLEL    ?= 2
# Tests of one package that call t.Parallel (test/e2e's long rollouts) run this many at once;
# go test's default is the number of cores, and they spend their time waiting, not computing.
TEST_PARALLEL_TESTS ?= 6
TEST_TIMEOUT     ?= 40m
GO_TEST_FLAGS    ?=
# Test binaries are linked without DWARF (-w: a third less link CPU for each of the ~40 test
# binaries a run links) or symbol table (-s); nothing reads them (stack traces and race
# reports come from the pclntab, which stays).
TEST_LDFLAGS     ?= -s -w
# go test starts test binaries in the order it is given them: the longest go first, so that
# none of them starts last and makes the tail of the run.
SLOW_PACKAGES    ?= ./test/e2e ./test/chart ./cmd/landfall ./test/cluster
# Packages with shared mutable state (the source cache, the render cache, webhooks, the
# controllers) run under the race detector, in a pass that runs alongside the first (the
# tests mostly wait; the machine has the cores). The race detector cannot run under an
# address-space cap, so a pass without -race runs their memory-capped tests (test/memcap),
# which are named ...Bounded... (go test -run Bounded), and the tests of their files built
# only without it (//go:build !race: the SOPS tests, which link the sops library's cloud key
# services). A package of these that links SOPS itself (render/decrypt/sopsfile) runs in the
# first pass.
RACE_PACKAGES    ?= ./controllers/... ./sync/source/... ./render/...
# Two race test binaries run at a time: the controllers' (the longest, about 7 minutes) and, one
# after another, the rest. Their packages, tests and dependencies are compiled before, at full
# parallelism, beside the Kubernetes build (go list -race -export, hack/test.sh). One at a time, the race pass
# outlasted the main one by 2 minutes of a cold run, waiting more than computing.
RACE_PARALLEL    ?= 2

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: build
build: ## Build bin/landfall.
	go build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN)/landfall ./cmd/landfall

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for the API types, and the API reference docs/api.md.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	go run ./hack/apidocs -dir api/v1alpha1 -out docs/api.md

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs into charts/landfall/crds.
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=charts/landfall/crds

.PHONY: fmt
fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint, including the one-way import rules (depguard).
	$(GOLANGCI_LINT) run --allow-serial-runners ./...

.PHONY: verify
verify: generate manifests ## Fail when generated files are stale, code is unformatted, a doc link is broken or a tool module is not aligned.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- api/v1alpha1/zz_generated.deepcopy.go charts/landfall/crds docs/api.md || { echo "generated files are stale: run make generate manifests and commit"; exit 1; }
	go test -vet=off -count=1 ./docs/
	bash hack/align-tools.sh -check

##@ Test

.PHONY: deps
deps: ## Install the system packages tests need (git, sshd, prometheus).
	bash hack/install-test-deps.sh

.PHONY: testbin
testbin: ## Build kube-apiserver, controller-manager, scheduler, etcd, kwok, helm, kustomize, the OCI registry and Gitea into $LANDFALL_TESTBIN.
	bash hack/testbin.sh

.PHONY: gitea
gitea: ## Build only Gitea (the forge tests' Git forge) into $LANDFALL_TESTBIN; testbin builds it too.
	bash hack/gitea.sh

.PHONY: test
# No separate go vet: golangci-lint's govet runs the analyzers go vet runs by default.
test: ## Run every test (unit, envtest, full cluster) after deps, testbin, verify and lint; RACE_PACKAGES under -race. CI=true: missing tools fail, never skip.
	RACE_PACKAGES="$(RACE_PACKAGES)" SLOW_PACKAGES="$(SLOW_PACKAGES)" \
	  TEST_PARALLEL=$(TEST_PARALLEL) TEST_PARALLEL_TESTS=$(TEST_PARALLEL_TESTS) RACE_PARALLEL=$(RACE_PARALLEL) \
	  TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_LDFLAGS="$(TEST_LDFLAGS)" GO_TEST_FLAGS="$(GO_TEST_FLAGS)" MAKE="$(MAKE)" \
	  bash hack/test.sh

.PHONY: test-e2e
test-e2e: deps testbin ## Run only the end-to-end tests on the full local cluster.
	go test -timeout $(TEST_TIMEOUT) -count=1 -v $(GO_TEST_FLAGS) ./test/e2e/...

.PHONY: bench
bench: deps testbin ## Run the benchmarks and print their figures.
	go test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./... | tee bench.out
	@echo "figures above; raw output in bench.out"

##@ Local cluster and demo

.PHONY: cluster-up
cluster-up: testbin ## Start a full local cluster in the background and print KUBECONFIG.
	go run ./test/cluster/cmd/localcluster -dir $(CLUSTER_DIR) up

.PHONY: cluster-down
cluster-down: ## Stop exactly what cluster-up started.
	go run ./test/cluster/cmd/localcluster -dir $(CLUSTER_DIR) down

.PHONY: demo
demo: deps testbin ## The local demo: cluster, Git server, Landfall, a deploy and a rollback.
	go run ./test/demo

##@ Tools

.PHONY: tools
tools: $(CONTROLLER_GEN) $(GOLANGCI_LINT) ## Build controller-gen and golangci-lint into $(TOOLS_DIR).

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build only controller-gen into $(TOOLS_DIR).

# Tools are linked without symbol tables and debug information (-s -w): nobody debugs them,
# and the linker writes a fraction of the bytes. Each is installed beside the cache and moved
# in, so two clones building it at once never run a half-written binary.
define go_install
	@mkdir -p $(TOOLS_DIR); tmp=$$(mktemp -d $(TOOLS_DIR)/.build.XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	echo "go install $(1)@$(2)"; GOBIN=$$tmp go install -ldflags="-s -w" $(1)@$(2); mv -f "$$tmp/$(notdir $(1))" $@
endef

$(CONTROLLER_GEN):
	@mkdir -p $(TOOLS_DIR); tmp=$$(mktemp -d $(TOOLS_DIR)/.build.XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	echo "go build sigs.k8s.io/controller-tools/cmd/controller-gen (test/tools/controller-gen)"; \
	go -C test/tools/controller-gen build -ldflags="-s -w" -o "$$tmp/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen; \
	mv -f "$$tmp/controller-gen" $@

$(GOLANGCI_LINT):
	$(call go_install,github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_VERSION))
