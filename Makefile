# syncer: `make demo` runs the main job end to end; `make test` runs every test.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: build test demo bench vet lint sim clean

# Lint tools, pinned, built from the Go module proxy into bin/tools (the file
# name carries the version, so changing a version here rebuilds the tool).
# Not golangci-lint: building it from source takes several minutes on 2
# cores, against issue 11's budget of 2 minutes for a cold make test.
TOOLS := $(CURDIR)/bin/tools
STATICCHECK_VERSION := v0.8.2
MISSPELL_VERSION := v0.8.0
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)
MISSPELL := $(TOOLS)/misspell-$(MISSPELL_VERSION)

build:
	$(GO) build -o bin/syncer ./cmd/syncer

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# House rules (scripts/houselint: import directions, the slog error key), then
# staticcheck, then misspell over everything a person reads.
lint: $(STATICCHECK) $(MISSPELL)
	$(GO) run ./scripts/houselint ./...
	$(STATICCHECK) ./...
	$(MISSPELL) -error $$(git ls-files '*.go' '*.md' '*.sql' '*.sh' '*.yml' Makefile Dockerfile .ci/run)

$(STATICCHECK):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

$(MISSPELL):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/misspell/cmd/misspell@$(MISSPELL_VERSION)
	mv $(TOOLS)/misspell $@

# Tests need a Postgres: TEST_DATABASE_URL, else 127.0.0.1:5432, else a
# testcontainers Postgres, compiled in (-tags testcontainers) only when
# scripts/testtags.sh finds no Postgres and a Docker engine.
TEST_TAGS ?= $(shell scripts/testtags.sh)
test: vet lint
	$(GO) test -race -count=1 $(if $(strip $(TEST_TAGS)),-tags '$(TEST_TAGS)') ./...

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh

sim: build
	bin/syncer sim --addr 127.0.0.1:8089

clean:
	rm -rf bin
