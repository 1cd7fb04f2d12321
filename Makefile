# jpegveil — see README.md. Everything here needs only Go and make, except
# `make interop` and parts of `make bench`, which use Debian tools
# (.ci/run installs them).

GO       ?= go
# pipefail: `go test -json | testsummary` fails when either side does.
SHELL    := /bin/bash
.SHELLFLAGS := -o pipefail -c
BIN      := bin/jpegveil
# Fuzzing: empty FUZZTIME runs each target for a number of inputs (about
# 20 s each on a 2-core machine); FUZZTIME=10m runs each for that long.
FUZZTIME ?=
# Each new input the fuzzer keeps is minimized in at most this many runs.
# Go's default, 60 s, lets the minimizing of one large input (a motion
# photo's trailer) take a whole short run.
FUZZMINIMIZETIME ?= 1000x
PKGS     := ./...

.PHONY: all build install run test interop bench fuzz lint race clean

all: build

# -buildvcs=auto records the commit for `jpegveil --version` where the
# checkout has one, whatever GOFLAGS says.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/jpegveil

# Put jpegveil on the PATH: into $(GOBIN), or $(GOPATH)/bin when unset.
install:
	$(GO) install -buildvcs=auto ./cmd/jpegveil
	@echo "installed $$($(GO) env GOBIN || true)$$( [ -n "$$($(GO) env GOBIN)" ] || echo $$($(GO) env GOPATH)/bin)/jpegveil"

# Start the proxy on the embedded default: loopback, state directory under
# the user's data directory, key and CA created on first start.
run: build
	./$(BIN) serve

# testsummary prints what go test prints, plus one line counting the tests
# that skipped for a missing ../shared corpus (go test calls them ok).
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -json $(PKGS) | $(GO) run ./internal/testsummary

# Tests against real clients and decoders: djpeg/tjbench, exiftool, rclone,
# curl, chromium, mitmproxy, ffmpeg. They skip with a message when a tool is missing.
# The tjbench and mitmproxy comparisons are benchmarks; they run once here,
# so that a broken setup fails here rather than in make bench.
interop:
	$(GO) test -count=1 -tags interop -run Interop $(PKGS)
	$(GO) test -count=1 -tags interop -run '^$$' -bench 'InteropDecoders' -benchtime 1x ./jpegbits
	BENCH_ROUNDS=1 $(GO) test -count=1 -tags interop -run '^$$' -bench 'InteropProxyTable' -benchtime 1x ./proxy

# Speed goals are benchmarks, not timed tests. BENCHTIME=1x for a quick look.
# The last part prints one table: jpegveil against mitmdump (Debian:
# mitmproxy) and no proxy, median of BENCH_ROUNDS rounds (default 5).
# Every part runs even when an earlier one fails, so that one broken
# benchmark does not hide the others' numbers; the target fails at the end.
BENCHTIME ?= 2s
bench:
	@status=0; \
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./jpegbits ./keystream ./veil || status=1; \
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./proxy || status=1; \
	$(GO) test -tags interop -run '^$$' -bench 'InteropDecoders' -benchtime 1x ./jpegbits || status=1; \
	$(GO) test -tags interop -run '^$$' -bench 'InteropProxyTable' -benchtime 1x ./proxy || status=1; \
	exit $$status

# Every fuzz target (go test allows one target per run). Counts, not a
# duration, by default: Go 1.26's coordinator can fail a run whose -fuzztime
# deadline strikes while a worker is busy, with a bare "context deadline
# exceeded" and no failing input; a count has no deadline to race.
fuzz_one = $(GO) test -run '^$$' -fuzz '^$(2)$$' -fuzztime $(or $(FUZZTIME),$(3)) -fuzzminimizetime $(FUZZMINIMIZETIME) ./$(1)
fuzz:
	$(call fuzz_one,jpegbits,FuzzTransform,200000x)
	$(call fuzz_one,exif,FuzzParse,1000000x)
	$(call fuzz_one,veil,FuzzTrailer,80000x)
	$(call fuzz_one,veil,FuzzMetadata,80000x)
	$(call fuzz_one,veil,FuzzClassify,150000x)
	$(call fuzz_one,proxy,FuzzRequestPath,3000x)
	$(call fuzz_one,ledger,FuzzReadExport,300000x)

# gofmt, vet and staticcheck. Without staticcheck installed it is skipped
# with a note, except under CI (CI set), where that is a failure.
lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet $(PKGS)
	$(GO) vet -tags interop $(PKGS)
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS) && staticcheck -tags interop $(PKGS); \
	elif [ -n "$$CI" ]; then echo "staticcheck not installed" >&2; exit 1; \
	else echo "staticcheck not installed; skipped"; fi

# The race detector on the packages with concurrency, and on the veil
# Scratch that concurrent requests share.
RACE_PKGS := ./proxy/... ./ledger/... ./certs/...
race:
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(GO) test -count=1 -race -run 'Scratch' ./veil

clean:
	rm -rf bin
