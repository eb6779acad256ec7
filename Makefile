# syncer: `make demo` runs the main job end to end; `make test` runs every test.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: build test demo bench bench-bi vet sim clean

build:
	$(GO) build -o bin/syncer ./cmd/syncer

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# Tests need a Postgres: TEST_DATABASE_URL, else 127.0.0.1:5432, else testcontainers.
test: vet
	$(GO) test -race -count=1 ./...

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh

# 30 days of wallet history for 10,000 clients and a year of spend, then the
# dashboard questions timed: a few minutes on 2 cores.
bench-bi:
	scripts/bench-bi.sh

sim: build
	bin/syncer sim --addr 127.0.0.1:8089

clean:
	rm -rf bin
