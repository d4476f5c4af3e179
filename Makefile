# watchdog — build, test, benchmark.
GO       ?= go
BIN      ?= bin/watchdog
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# A static, stripped binary.
RELEASE_FLAGS = -trimpath -ldflags "-s -w -X main.linkedVersion=$(VERSION)"

# urfave/cli without its man-page and markdown generators (go-md2man).
export GOFLAGS := $(GOFLAGS) -tags=urfave_cli_no_docs

CLI_FUZZTIME ?= 20000x  # each execution runs a whole command in-process (about 1 ms)
FUZZTIME ?= 1000000x  # an execution count: duration budgets can flake on Go 1.26 (golang/go#75804)

.PHONY: build install test bench fuzz lint cross clean

build:
	CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o $(BIN) .
	CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) -o $(BIN)-docker ./cmd/watchdog-docker

# Both binaries side by side: watchdog finds watchdog-docker beside itself.
PREFIX  ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(BIN)-docker $(DESTDIR)$(PREFIX)/bin/

test:
	$(GO) test -count=1 -p 1 ./...

bench: build
	$(GO) run ./bench -watchdog $(BIN)
	$(GO) test -run '^$$' -bench . -benchmem ./registry ./supervise

# Each fuzz target for FUZZTIME; seeds live in */testdata/fuzz/ and run in plain go test.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./registry
	$(GO) test -run '^$$' -fuzz '^FuzzValidateID$$' -fuzztime $(FUZZTIME) ./registry
	$(GO) test -run '^$$' -fuzz '^FuzzParseDuration$$' -fuzztime $(FUZZTIME) ./supervise
	$(GO) test -run '^$$' -fuzz '^FuzzParseSignal$$' -fuzztime $(FUZZTIME) ./supervise
	$(GO) test -run '^$$' -fuzz '^FuzzParseTimeout$$' -fuzztime $(FUZZTIME) ./shims
	$(GO) test -run '^$$' -fuzz '^FuzzCommandLine$$' -fuzztime $(CLI_FUZZTIME) .

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

cross:
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=darwin GOARCH=amd64 $(GO) build ./...
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build ./...

clean:
	rm -rf bin
