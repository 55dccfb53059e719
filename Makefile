# winnow's build, demo, tests and benchmarks. `make demo` and `make test`
# install what they need (npm packages, Debian packages) on first use.

GO        ?= go
BIN       := bin/winnow
REVISION  := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS   := -X github.com/winnow-data/winnow/internal/cli.buildRevision=$(REVISION)
DEMO_ROOT ?= winnow-out
BENCH_DIR ?= bench/out
BENCH_DOCS ?= 20000

.PHONY: build demo test test-deps chromium awscli kcat bench bench-deps bench-loader bench-quality lint clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/winnow

# Curates the bundled Common Crawl sample into $(DEMO_ROOT) and prints the
# new version.
demo: build
	$(BIN) run -o $(DEMO_ROOT)
	$(BIN) show $(DEMO_ROOT)

# DuckDB (npm @duckdb/node-api) reads back every Parquet file the tests write.
# Debian's Chromium, driven by npm playwright-core, loads the HTML report;
# playwright-core downloads no browser of its own. npm apache-arrow reads
# winnow serve's Arrow stream.
# versitygw is the S3 server of the object storage tests, and Debian's
# awscli the independent client that uploads their objects.
test-deps: tools/duckdb/node_modules/.installed tools/browser/node_modules/.installed tools/arrowjs/node_modules/.installed chromium tools/bin/versitygw awscli kcat

tools/bin/versitygw:
	GOBIN=$(CURDIR)/tools/bin $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0

awscli:
	@/usr/bin/aws --version >/dev/null 2>&1 || (apt-get update && apt-get install -y awscli)

tools/duckdb/node_modules/.installed: tools/duckdb/package.json tools/duckdb/package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd tools/duckdb && npm ci --no-audit --no-fund
	touch $@

tools/browser/node_modules/.installed: tools/browser/package.json tools/browser/package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd tools/browser && npm ci --no-audit --no-fund
	touch $@

tools/arrowjs/node_modules/.installed: tools/arrowjs/package.json tools/arrowjs/package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd tools/arrowjs && npm ci --no-audit --no-fund
	touch $@

kcat:
	@command -v kcat >/dev/null || (apt-get update && apt-get install -y kcat)

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

bench: build bench-deps test-deps
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./pipeline ./stages ./dedup ./pii ./loader
	$(GO) test -run '^$$' -bench 'KafkaInput|S3Input' -count 3 ./internal/cli
	$(GO) run ./pii/internal/piieval
	./bench/run.sh $(BENCH_DIR) $(BENCH_DOCS)

# Drops of the four quality filters by reason and by kind of generated
# document, beside datatrove's counts; it reads the rejects with DuckDB.
bench-quality: bench-deps tools/duckdb/node_modules/.installed
	./bench/quality_compare.sh $(BENCH_DIR)/quality $(BENCH_DOCS)

# The loader's trainer wait: a dataset of LOADER_DOCS generated documents
# in 8 MiB shards, read with 100 ms per storage request by a trainer that
# steps every 20 ms on 1 MB batches, within 160 MiB so every epoch fetches
# its shards again. See bench/README.md.
LOADER_DOCS ?= 100000
bench-loader: build bench-deps
	mkdir -p $(BENCH_DIR)
	test -s $(BENCH_DIR)/corpus-$(LOADER_DOCS).jsonl || python3 bench/gen_corpus.py --out $(BENCH_DIR)/corpus-$(LOADER_DOCS).jsonl --docs $(LOADER_DOCS)
	printf 'stages: []\noutput:\n  shard_max_bytes: 8388608\n  row_group_max_bytes: 4194304\n' >$(BENCH_DIR)/loader.yaml
	rm -rf $(BENCH_DIR)/loader-root
	$(BIN) run -c $(BENCH_DIR)/loader.yaml -o $(BENCH_DIR)/loader-root --progress never $(BENCH_DIR)/corpus-$(LOADER_DOCS).jsonl
	$(BIN) bench-loader $(BENCH_DIR)/loader-root --latency 100ms --step 20ms --batch-bytes 1000000 --epochs 3 --memory-mb 160

clean:
	rm -rf bin $(DEMO_ROOT) $(BENCH_DIR)
