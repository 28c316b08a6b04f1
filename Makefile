# Switchyard — build, run and test.
#   make run    build what is missing and serve on 127.0.0.1:20555 (data in ./data)
#   make test   every test: Go (race on engine/events/routines/ws/debug/history), UI unit, real browser
#   make bench  the benchmarks, as one table

GO        ?= go
ADDR      ?= 127.0.0.1:20555
DATA      ?= ./data
BIN       := bin/switchyard
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# One set of flags for vet, test and build so they share the build cache.
GOFLAGS_COMMON := -trimpath
RACE_PKGS := ./backend/engine/... ./backend/events/... ./backend/routines/... ./backend/ws/... ./backend/debug/... ./backend/history/...
GO_SRC    := $(shell find backend examples -name '*.go' 2>/dev/null) embed.go go.mod go.sum $(wildcard migrations/*.sql)
WEB_SRC   := $(shell find web/src web/public web/index.html web/vite.config.ts web/tsconfig.json web/compress.mjs -type f 2>/dev/null) package.json package-lock.json

.PHONY: all build run test test-go test-race test-fuzz bench-compare test-web test-e2e vet fmt-check templ templ-check api-types api-types-check web bench clean

all: build

build: $(BIN)

$(BIN): $(GO_SRC) web/dist/index.html
	@mkdir -p bin
	$(GO) build $(GOFLAGS_COMMON) -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./backend/cmd/switchyard

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: node_modules/.package-lock.json $(WEB_SRC)
	npm run --silent build:web
	@touch web/dist/.keep

web: web/dist/index.html

run: build
	$(BIN) serve --addr $(ADDR) --data $(DATA)

templ:
	$(GO) tool templ generate

# Generated templ files are committed; fail if they are stale.
templ-check:
	@$(GO) tool templ generate >/dev/null 2>&1
	@git diff --exit-code --stat -- '*_templ.go' || (echo "generated templ files are stale: run make templ and commit"; exit 1)

# The UI's API types generated from the OpenAPI document; the UI's own
# types are checked against them (web/src/api.contract.ts).
api-types:
	$(GO) run $(GOFLAGS_COMMON) ./backend/cmd/apitypes > web/src/api/api.generated.ts

api-types-check:
	@$(GO) run $(GOFLAGS_COMMON) ./backend/cmd/apitypes | diff -q - web/src/api/api.generated.ts >/dev/null || \
	  (echo "web/src/api/api.generated.ts is stale: run make api-types and commit"; exit 1)

fmt-check:
	@out=$$(gofmt -l backend examples embed.go); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(GOFLAGS_COMMON) ./...

test: fmt-check templ-check api-types-check vet test-go test-race test-fuzz test-web test-e2e

test-go:
	$(GO) test $(GOFLAGS_COMMON) -count=1 ./...

# The parsers' fuzz targets, each for a few seconds beyond its corpus
# (test-go runs every corpus, committed under testdata/fuzz, as tests).
FUZZ_TARGETS := ./backend/flow:FuzzParse ./backend/flow:FuzzParseMemory ./backend/routines:FuzzExpression ./backend/debug:FuzzBreakpointRecord ./backend/ws:FuzzClientMessage
FUZZ_TIME ?= 3s
test-fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZ_TIME) $${t%%:*} || exit 1; \
	done

test-race:
	$(GO) test $(GOFLAGS_COMMON) -race -count=1 $(RACE_PKGS)

test-web: node_modules/.package-lock.json
	npm run --silent typecheck
	npm run --silent test:unit

test-e2e: build
	SWITCHYARD_BIN=$(CURDIR)/$(BIN) npm run --silent test:e2e

# Chain benchmarks (10,000 jobs each; also without hooks, with the debugger
# unused and with 10 never-matching breakpoints) and the breakpoint hit
# latency, beside the raw SQLite insert rate (1,000,000 rows); REST over 32
# connections (jobs started, jobs run with ?wait=, beside GET /api/health);
# the database's size per 10,000 jobs and the start on 100,000 stored jobs;
# the replay of a stored job of ~200,000 events to one WebSocket client
# beside GET …/events paging the same log, printed as one table (the raw
# output in bench/latest.txt, the results in bench/results.json), with the
# REST runs again through wrk against the real binary when wrk is installed
# (cmd/wrkbench: three rounds, the table shows each load's median); then the WebSocket load test (streams vs a plain melody
# Broadcast server).
bench: $(BIN)
	@mkdir -p bench
	@if [ -f bench/latest.txt ]; then mv bench/latest.txt bench/previous.txt; fi
	{ $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench 'Chain|Debugger' -benchtime 10000x ./backend/bench/ && \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench 'BreakpointHitLatency' -benchtime 300x ./backend/bench/ && \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench 'SQLite' -benchtime 1000000x ./backend/bench/ && \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench '^BenchmarkREST' -benchtime 20000x ./backend/bench/ && \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench '^Benchmark(DatabaseSize|StartWith100kJobs)$$' -benchtime 10000x ./backend/bench/ && \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench 'Replay|EventsREST' -benchtime 3x ./backend/bench/ && \
	  $(GO) test $(GOFLAGS_COMMON) -run '^$$' -bench 'StateAt100k|Activations100k' -benchtime 20x ./backend/history/ && \
	  $(GO) run $(GOFLAGS_COMMON) ./backend/cmd/wrkbench -bin $(BIN) ; } \
	  | tee bench/latest.txt | $(GO) run $(GOFLAGS_COMMON) ./backend/cmd/benchtable -json bench/results.json
	$(GO) run $(GOFLAGS_COMMON) ./backend/cmd/wsbench

# Compares the last make bench with the one before (benchstat).
bench-compare:
	@test -f bench/previous.txt || (echo "run make bench twice first: bench/previous.txt is missing"; exit 1)
	$(GO) tool benchstat bench/previous.txt bench/latest.txt

clean:
	rm -rf bin
	find web/dist -mindepth 1 ! -name .keep -exec rm -rf {} +
