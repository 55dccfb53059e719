# winnow's build, demo, tests and benchmarks. `make demo` and `make test`
# install what they need (npm packages, Debian packages) on first use.

GO        ?= go
BIN       := bin/winnow
REVISION  := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS   := -X github.com/winnow-data/winnow/internal/cli.buildRevision=$(REVISION)
DEMO_ROOT ?= winnow-out
BENCH_DIR ?= bench/out
BENCH_DOCS ?= 20000

.PHONY: build demo test test-deps chromium bench bench-deps bench-quality lint clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/winnow

# Curates the bundled Common Crawl sample into $(DEMO_ROOT) and prints the
# new version.
demo: build
	$(BIN) run -o $(DEMO_ROOT)
	$(BIN) show $(DEMO_ROOT)

# DuckDB (npm @duckdb/node-api) reads back every Parquet file the tests write.
# Debian's Chromium, driven by npm playwright-core, loads the HTML report;
# playwright-core downloads no browser of its own.
test-deps: tools/duckdb/node_modules/.installed tools/browser/node_modules/.installed chromium

tools/duckdb/node_modules/.installed: tools/duckdb/package.json tools/duckdb/package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd tools/duckdb && npm ci --no-audit --no-fund
	touch $@

tools/browser/node_modules/.installed: tools/browser/package.json tools/browser/package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd tools/browser && npm ci --no-audit --no-fund
	touch $@

chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# The memory tests skip themselves under the race detector, which inflates
# the heap, so they run again without it.
test: test-deps lint
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -run 'Memory' -v ./dedup ./stages

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# gen_corpus.py draws its words from Debian's wamerican.
bench-deps:
	@test -f /usr/share/dict/words || (apt-get update && apt-get install -y wamerican)

bench: build bench-deps
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./pipeline ./stages ./dedup ./pii
	$(GO) run ./pii/internal/piieval
	./bench/run.sh $(BENCH_DIR) $(BENCH_DOCS)

# Drops of the four quality filters by reason and by kind of generated
# document, beside datatrove's counts; it reads the rejects with DuckDB.
bench-quality: bench-deps tools/duckdb/node_modules/.installed
	./bench/quality_compare.sh $(BENCH_DIR)/quality $(BENCH_DOCS)

clean:
	rm -rf bin $(DEMO_ROOT) $(BENCH_DIR)
