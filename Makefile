# tokenpath — see README.md. Targets follow Prometheus' Makefile.common.

GO        ?= go
BIN       ?= tokenpath
PKG       := github.com/ritwikareddykancharla/token-path-observability
# go-nvml's header marks many NVML calls deprecated; the warnings are noise.
export CGO_CFLAGS ?= -Wno-deprecated-declarations
# Packages whose tests exercise in-process concurrency run under the race
# detector; the rest (mostly whole-process integration tests that already
# pay for a Prometheus-sized link) run without it to keep CI inside its budget.
RACE_PKGS := ./sim/... ./gpu/... ./scrape/... ./storage/... ./server/... ./export/...
TEST_TIMEOUT ?= 40m
GOLANGCI_LINT_VERSION ?= v2.15.0
# go-licenses reads go.mod and the module cache and classifies each dependency's licence.
GO_LICENSES_VERSION ?= v1.6.0
GO_LICENSES := $(GO) run github.com/google/go-licenses@$(GO_LICENSES_VERSION)

.PHONY: all build build-nocgo run demo test test-short fuzz vet lint fmt generate templ web check-generated third-party-licenses check-third-party-licenses clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tokenpath

# Portability check: everything but the NVML adapter builds without cgo.
build-nocgo:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/tokenpath

run: build
	./$(BIN)

demo: build
	./$(BIN) --demo

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(RACE_PKGS)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v -E '/(sim|gpu|scrape|storage|server|export)(/|$$)')

# Every fuzz target, each for FUZZTIME (go test can fuzz one target at a
# time). `make test` runs their seed corpora (testdata/fuzz and f.Add) only;
# a crash found here is saved under testdata/fuzz and becomes a regular case.
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	./scrape/probe:FuzzReadStream \
	./scrape:FuzzKindFromExposition \
	./server:FuzzLoadConfig \
	./web:FuzzControls \
	./web:FuzzFilterSelector
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

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

# THIRD_PARTY_LICENSES (committed): every Go module compiled into the binary, its version,
# licence name and full licence text. go-licenses check fails on a forbidden or unknown
# licence. dist/third_party_licenses/ gets each module's licence and notice files as the
# tool saves them, for release archives and the .deb.
third-party-licenses:
	GOOS=linux $(GO_LICENSES) check ./cmd/tokenpath --ignore $(PKG) --disallowed_types=forbidden,unknown
	GOOS=linux $(GO_LICENSES) report ./cmd/tokenpath --ignore $(PKG) --template scripts/third_party_licenses.tpl > THIRD_PARTY_LICENSES.tmp 2>/dev/null
	mv THIRD_PARTY_LICENSES.tmp THIRD_PARTY_LICENSES
	GOOS=linux $(GO_LICENSES) save ./cmd/tokenpath --ignore $(PKG) --save_path dist/third_party_licenses --force 2>/dev/null

# Fails when go.mod changed and THIRD_PARTY_LICENSES was not regenerated.
check-third-party-licenses: third-party-licenses
	git diff --exit-code -- THIRD_PARTY_LICENSES

clean:
	rm -f $(BIN)
