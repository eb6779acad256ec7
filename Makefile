# syncer: `make demo` runs the main job end to end; `make test` runs every test.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: build test demo bench vet sim clean

build:
	$(GO) build -o bin/syncer ./cmd/syncer

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# Tests need a Postgres: TEST_DATABASE_URL, else 127.0.0.1:5432, else a
# testcontainers Postgres, compiled in (-tags testcontainers) only when
# scripts/testtags.sh finds no Postgres and a Docker engine.
TEST_TAGS ?= $(shell scripts/testtags.sh)
test: vet
	$(GO) test -race -count=1 $(if $(strip $(TEST_TAGS)),-tags '$(TEST_TAGS)') ./...

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh

sim: build
	bin/syncer sim --addr 127.0.0.1:8089

clean:
	rm -rf bin
