# syncer: `make demo` runs the main job end to end; `make test` runs every test.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: build test deps demo bench bench-bi bench-bi-year vet lint sim clean

# Lint tools, pinned, built from the Go module proxy into bin/tools (the file
# name carries the version, so changing a version here rebuilds the tool).
# Not golangci-lint: building v2.15.0 from source took 3m15s of CPU (8 min on
# the shared 2 cores), against a budget of 2 minutes for a cold make test.
TOOLS := $(CURDIR)/bin/tools
STATICCHECK_VERSION := v0.8.2
MISSPELL_VERSION := v0.8.0
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)
MISSPELL := $(TOOLS)/misspell-$(MISSPELL_VERSION)
# promtool comes from Debian's prometheus package (scripts/promtool.sh):
# building it from the Go module would compile all of Prometheus.
PROMTOOL := $(TOOLS)/promtool

# The binary says which build it is (syncer version, syncer_build_info): GOFLAGS
# may carry -buildvcs=false, and a Docker context has no .git, so the version,
# revision and build time are stamped here rather than left to the toolchain.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILDINFO := syncer/internal/buildinfo
LDFLAGS := -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).revision=$(REVISION) -X $(BUILDINFO).buildTime=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/syncer ./cmd/syncer

# vet and lint build with -race like go test -race, so a cold make test
# compiles the standard library and the dependencies once, not twice.
RACE_GOFLAGS = $(strip $(shell $(GO) env GOFLAGS) -race)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet -race ./...

# House rules (scripts/houselint: import directions, the slog error key), then
# staticcheck, then misspell over everything a person reads, then promtool over
# the shipped alert rules and their unit tests.
lint: $(STATICCHECK) $(MISSPELL) $(PROMTOOL)
	$(GO) run ./scripts/houselint -race ./...
	GOFLAGS='$(RACE_GOFLAGS)' $(STATICCHECK) ./...
	$(MISSPELL) -error $$(git ls-files '*.go' '*.md' '*.sql' '*.sh' '*.yml' Makefile Dockerfile .ci/run)
	$(PROMTOOL) check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && $(PROMTOOL) test rules alerts_test.yml

$(STATICCHECK):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

$(PROMTOOL):
	scripts/promtool.sh $@

$(MISSPELL):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/misspell/cmd/misspell@$(MISSPELL_VERSION)
	mv $(TOOLS)/misspell $@

# Tests need a Postgres: TEST_DATABASE_URL, else 127.0.0.1:5432, else a
# testcontainers Postgres, compiled in (-tags testcontainers) only when
# scripts/testtags.sh finds no Postgres and a Docker engine.
# Chromium drives the status page test (deps installs it when missing).
# -vet=off: make vet has already run every analyzer over the tests.
TEST_TAGS ?= $(shell scripts/testtags.sh)
test: vet lint deps
	$(GO) test -race -vet=off -count=1 $(if $(strip $(TEST_TAGS)),-tags '$(TEST_TAGS)') ./...

deps:
	scripts/deps.sh

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh

# 30 days of wallet history for 10,000 clients and a year of spend, then the
# dashboard questions timed: a few minutes on 2 cores.
bench-bi:
	scripts/bench-bi.sh

# 1,000 clients x 365 days of wallet history: one client's year and the
# daily views over a year (issue 15). Longer: about 35,000 snapshots.
bench-bi-year:
	BENCH_BI_SCALE=year scripts/bench-bi.sh

sim: build
	bin/syncer sim --addr 127.0.0.1:8089

clean:
	rm -rf bin
