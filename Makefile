# Entry points: `make test` runs the whole suite (scripts/test); the others
# run the fuzz targets, the server benchmarks and the linters.

GO ?= go

# Versions of the linters, fetched through the Go module proxy by `go run`.
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 60s

.PHONY: test fuzz fuzz-short bench gobench lint vulncheck

test:
	./scripts/test

# Every fuzz target in turn, $(FUZZTIME) each, as "package:target". A
# failing input is written to the package's testdata/fuzz/<target>/; the
# other targets still run, and the run fails at the end.
FUZZ_TARGETS := \
	./internal/sketch/:FuzzDecode \
	./internal/ingest/:FuzzDecode \
	./internal/metrics/:FuzzParseWindow \
	./internal/peer/:FuzzPeerDecode

fuzz:
	@rc=0; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "$(GO) test -run '^\$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || rc=1; \
	done; \
	exit $$rc

fuzz-short:
	$(MAKE) fuzz FUZZTIME=10s

# The end-to-end benchmark (`shadower bench`); BENCH_FLAGS=--quick for a
# run of under two minutes. The Go micro-benchmarks: `make gobench`.
BENCH_FLAGS ?=
bench:
	$(GO) build -o /tmp/shadower-bench ./cmd/shadower
	/tmp/shadower-bench bench $(BENCH_FLAGS) --json bench.json --svg bench.svg

gobench:
	$(GO) test ./internal/app -run '^$$' -bench . -benchtime 200x -timeout 60m

# Runs every linter even when one fails, so all findings show; fails if any did.
lint:
	@rc=0; \
	for cmd in "$(GO) vet ./..." \
		"$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./..."; do \
		echo "$$cmd"; $$cmd || rc=1; \
	done; \
	exit $$rc

# Needs the Go vulnerability database (vuln.go.dev), so it runs where that
# is reachable.
vulncheck:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) ./...
