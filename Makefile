# tokenpath — see README.md. Targets follow Prometheus' Makefile.common.

GO        ?= go
BIN       ?= tokenpath
PKG       := github.com/ritwikareddykancharla/token-path-observability
# go-nvml's header marks many NVML calls deprecated, and a cold build prints
# about 150 lines of warnings for it. Only the environment reaches another
# module's cgo compilation (a #cgo directive applies to its own package), so
# every build goes through this Makefile: your CGO_CFLAGS (or Go's default)
# plus the one flag that silences them.
CGO_CFLAGS ?= -O2 -g
CGO_CFLAGS += -Wno-deprecated-declarations
export CGO_CFLAGS

# Version stamping, as Prometheus' promu does it: the release number comes from
# VERSION, the revision and branch from git, and all of it reaches
# github.com/prometheus/common/version through -ldflags -X, where --version,
# /api/v1/status/buildinfo and tokenpath_build_info read it. With
# SOURCE_DATE_EPOCH set (release builds) the date comes from it and the user is
# fixed, so two builds of one commit are byte for byte the same. Plain
# assignments: a VERSION or BRANCH in the environment must not leak in (a
# command-line `make VERSION=…` still wins).
VERSION    := $(shell cat VERSION)
REVISION   := $(shell git rev-parse HEAD 2>/dev/null)
BRANCH     := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
ifdef SOURCE_DATE_EPOCH
BUILD_USER := tokenpath-release
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d-%H:%M:%S)
else
BUILD_USER := $(shell id -un 2>/dev/null)@$(shell hostname 2>/dev/null)
BUILD_DATE := $(shell date -u +%Y%m%d-%H:%M:%S)
endif
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) \
	-X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) \
	-X $(VERSION_PKG).BuildUser=$(BUILD_USER) \
	-X $(VERSION_PKG).BuildDate=$(BUILD_DATE)
# Packages whose tests exercise in-process concurrency run under the race
# detector; the rest (mostly whole-process integration tests that already
# pay for a Prometheus-sized link) run without it to keep CI inside its budget.
RACE_PKGS := ./sim/... ./gpu/... ./scrape/... ./storage/... ./server/... ./export/...
TEST_TIMEOUT ?= 40m
GOLANGCI_LINT_VERSION ?= v2.15.0
# go-licenses reads go.mod and the module cache and classifies each dependency's licence.
GO_LICENSES_VERSION ?= v1.6.0

.PHONY: all build print-ldflags print-cgo-cflags build-nocgo run demo test-deps test test-js test-short fuzz soak bench-vs-prometheus bench-history bench-startup bench-paint prometheus3 vet lint fmt generate templ web check-generated third-party-licenses check-third-party-licenses release clean

all: build

build:
	@echo ">> building $(BIN) $(VERSION)"
	@$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tokenpath

# The -ldflags every stamped build uses; internal/testbin builds the tests'
# tokenpath with them, so the tests run what `make build` makes.
print-ldflags:
	@echo '$(LDFLAGS)'

# The C flags of every cgo compilation, for the test that a cold build is quiet.
print-cgo-cflags:
	@echo '$(CGO_CFLAGS)'

# Portability check: everything but the NVML adapter builds without cgo.
build-nocgo:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/tokenpath

run: build
	./$(BIN)

demo: build
	@./$(BIN) --demo

# Installs the Debian packages the tests need (as root), or says which to install.
test-deps:
	@scripts/test-deps.sh

# Everything the tests compile (test binaries, the tokenpath that
# internal/testbin builds, the amd64 release that packaging's tests build) is
# compiled with -trimpath, as the release must be: one compilation of the
# dependencies serves all of them instead of two.
test: export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
test: test-deps test-js
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(RACE_PKGS)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v -E '/(sim|gpu|scrape|storage|server|export)(/|$$)')

# The UI's JavaScript unit tests (web/ui/src/*.test.mjs) on node's built-in
# test runner: no npm packages needed. Missing node fails with the command
# that installs it.
NODE ?= node
test-js:
	@command -v $(NODE) >/dev/null 2>&1 || { echo "test-js: node is not installed; run, as root: apt-get install -y nodejs" >&2; exit 1; }
	cd web/ui && $(NODE) --test src/

# Every fuzz target, each for FUZZTIME (go test can fuzz one target at a
# time). `make test` runs their seed corpora (testdata/fuzz and f.Add) only;
# a crash found here is saved under testdata/fuzz and becomes a regular case.
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	./scrape/probe:FuzzReadStream \
	./scrape:FuzzKindFromExposition \
	./server:FuzzLoadConfig \
	./server:FuzzFederate \
	./server:FuzzRemoteWrite \
	./web:FuzzControls \
	./web:FuzzFilterSelector
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# The hour-long soak (scripts/soak.sh): not part of `make test`; results go in
# docs/soak.md. SOAK_DURATION in seconds.
SOAK_DURATION ?= 3600
soak:
	scripts/soak.sh $(SOAK_DURATION) artifacts/soak

# Benchmarks against Prometheus 3 (built from the pinned module by
# scripts/build-prometheus3.sh, cached); results go in docs/benchmarks.md.
# Slow (minutes to hours) and never part of make test.
BENCH_WARMUP  ?= 60
BENCH_MEASURE ?= 120
bench-vs-prometheus:
	scripts/bench-vs-prometheus.sh $(BENCH_WARMUP) $(BENCH_MEASURE)

bench-history:
	scripts/bench-history.sh

bench-startup:
	scripts/bench-startup.sh

# The built-in UI's first chart painted on an already running tokenpath
# (headless chromium): make bench-paint PAINT_URL=http://127.0.0.1:9090
PAINT_URL ?= http://127.0.0.1:9090
bench-paint:
	$(GO) run ./scripts/benchpaint --url $(PAINT_URL)

prometheus3:
	scripts/build-prometheus3.sh

test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

fmt:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) fmt ./...
	$(GO) tool templ fmt web

generate: templ web

templ:
	$(GO) tool templ generate -path web

# The JS/CSS bundle (uPlot + glue) is committed; this rebuilds it.
web:
	cd web/ui && npm ci --no-audit --no-fund && npm run build

# Regenerate everything generated and fail if the committed copy differs.
check-generated: generate
	git diff --exit-code -- web

# THIRD_PARTY_LICENSES (committed, shipped in the archives and the .deb): every Go module
# compiled into the binary with its version, licence and full text, and their NOTICE files;
# fails on a forbidden or unknown licence. See scripts/third-party-licenses.sh.
third-party-licenses:
	@GO=$(GO) GO_LICENSES_VERSION=$(GO_LICENSES_VERSION) scripts/third-party-licenses.sh

# Fails when go.mod changed and THIRD_PARTY_LICENSES was not regenerated.
check-third-party-licenses: third-party-licenses
	git diff --exit-code -- THIRD_PARTY_LICENSES

# Release archives (and Debian packages) for linux-amd64 and linux-arm64 in
# $(DIST)/, reproducible; see scripts/release.sh.
DIST ?= dist
release:
	@DIST=$(DIST) VERSION=$(VERSION) GO=$(GO) scripts/release.sh

clean:
	rm -f $(BIN)
	rm -rf $(DIST)
