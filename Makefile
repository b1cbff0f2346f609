# Vigil — central station for hospital wards. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
# The Go toolchain every target builds and tests with (go.mod says the same):
# the go command on the machine fetches it from the module proxy the first
# time (~76 MB). go1.27.3 carries the standard library's fixes that go1.26.8
# lacks (docs/supply-chain.md).
export GOTOOLCHAIN := go1.27.3
export LANG ?= C.UTF-8
export XDG_RUNTIME_DIR ?= /tmp/vigil-runtime-$(shell id -u)

GO        ?= go
BIN       := bin/vigil
# Debian packages: build headers for Fyne (GL, X11, Wayland), a headless X
# server and screenshot tools, mosquitto for the integration tests, ALSA headers
# for the alarm sound (oto) and a D-Bus daemon for the notification test.
DEB_PACKAGES := gcc pkg-config libgl1-mesa-dev xorg-dev libxkbcommon-dev libwayland-dev \
                wayland-protocols xvfb xauth x11-apps imagemagick mosquitto mosquitto-clients dbus-x11 \
                dbus libasound2-dev xdotool
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RUN_FLAGS ?=
TEST_FLAGS ?=
BENCHTIME ?= 1s
# Pinned tools (docs/supply-chain.md), run with go run from the module proxy.
STATICCHECK    := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK_VERSION := v1.9.0
# golang.org/x/vulndb: the vulnerability database snapshot used when the live one is unreachable
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
CYCLONEDX      := github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
FUZZTIME  ?= 2m
FUZZSMOKE ?= 3s
SBOM      := dist/vigil.cdx.json

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

deps: ## install the Debian packages that are missing (apt-get; sudo when not root)
	@missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.21 or newer is needed (it fetches the 1.26 toolchain itself): https://go.dev/dl"; exit 1; }
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)

build: deps ## build bin/vigil
	$(GO) build -o $(BIN) .

run: build ## start the station: embedded broker, simulated ward of 16 beds, window
	@if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && [ -z "$(RUN_FLAGS)" ]; then \
	  echo "port 1883 is taken (a system broker?): using it for the simulated ward"; \
	  ./$(BIN) --broker tcp://127.0.0.1:1883 --sim 16; \
	else ./$(BIN) $(RUN_FLAGS); fi

test: deps ## run every test (race detector on), window tests under Xvfb
	$(GO) vet ./...
	xvfb-run -a -s "-screen 0 1920x1080x24" $(GO) test -race -count=1 -timeout 25m $(TEST_FLAGS) ./...

golden: deps ## rewrite the UI's golden images (go test ./ui -update); look at git diff docs/ ui/testdata before committing
	$(GO) test -count=1 ./ui -update

bench: build ## run the benchmarks; the tracked figures are the BENCH <name> <value> <unit> lines
	@mkdir -p bin
	@set -o pipefail; { \
	  $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./monitor/... && \
	  VIGIL_RING_STRESS=100000000 $(GO) test -race -count=1 -v -timeout 20m -run '^TestStressSequence$$' ./monitor/ring/ && \
	  $(GO) test -run '^$$' -bench '^BenchmarkIngest$$' -benchtime 1x -timeout 20m -v ./app/ && \
	  $(GO) test -run '^$$' -bench '^BenchmarkAlarmLatency$$' -benchtime 1x -timeout 10m -v . && \
	  $(GO) test -run '^$$' -bench '^BenchmarkHL7Load$$' -benchtime 1x -timeout 10m -v ./app/ && \
	  $(GO) test -run '^TestFloodOfInventedBeds$$' -count=1 -timeout 10m -v ./app/ && \
	  $(GO) test -run '^$$' -bench . -benchmem ./alarms/peers/ && \
	  $(GO) test -run '^$$' -bench . -benchtime 5000x -timeout 10m ./app/store/ && \
	  $(GO) test -run '^$$' -bench . -timeout 10m ./app/store/recordings/ && \
	  $(GO) test -run '^$$' -bench '^BenchmarkTrendOpen24h$$' -benchtime 10x -timeout 10m ./app/ && \
	  $(GO) test -run '^$$' -bench '^BenchmarkRenderStrip$$' -benchmem ./ui/ && \
	  $(GO) test -run '^$$' -bench '^(BenchmarkUIIdle|BenchmarkStartupFirstWave|BenchmarkDisclosureScroll)$$' -benchtime 1x -timeout 10m -v . && \
	  $(GO) test -run '^$$' -bench '^BenchmarkRSS64Beds$$' -benchtime 1x -timeout 45m -v . && \
	  $(GO) test -run '^$$' -bench '^BenchmarkUIGrid$$' -benchtime 1x -timeout 15m -v . ; \
	} 2>&1 | tee bin/bench.log
	@echo; echo "== tracked figures =="; grep '^BENCH ' bin/bench.log

fuzz: ## fuzz every Fuzz target for FUZZTIME each (default 2m), one after another
	@set -e; start=$$(date +%s); n=0; \
	for p in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$p/*_test.go | cut -c6- | sort); do \
	    echo "== $$p $$t ($(FUZZTIME))"; n=$$((n+1)); \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$p/; done; done; \
	echo "fuzz: $$n targets, $$(( $$(date +%s) - start )) s"

fuzz-smoke: ## every Fuzz target for FUZZSMOKE (3s) each, as CI runs it
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZSMOKE)

lint: deps ## go vet, gofmt, staticcheck, govulncheck (scripts/govulncheck.sh)
	$(GO) vet ./...
	@out=$$(gofmt -l .); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) run $(STATICCHECK) ./...
	GOVULNCHECK_VERSION=$(GOVULNCHECK_VERSION) VULNDB_VERSION=$(VULNDB_VERSION) scripts/govulncheck.sh ./...

sbom: ## write the CycloneDX SBOM of bin/vigil (linux/amd64, cgo) to dist/vigil.cdx.json
	@mkdir -p dist
	GOOS=linux GOARCH=amd64 CGO_ENABLED=1 $(GO) run $(CYCLONEDX) app -json -licenses -std -output $(SBOM) .
	@echo "SBOM: $(SBOM), $$(grep -c '"bom-ref"' $(SBOM)) components"

screenshot: build ## run the station under Xvfb at 1920x1080 and save docs/screenshot.png
	scripts/screenshot.sh $(BIN) docs/screenshot.png $${SHOT_WAIT:-25}
	for s in login admin journal bed:05 trends:05; do scripts/screenshot.sh $(BIN) docs/$${s/:/-}.png 20 $$s; done
	scripts/screenshot.sh $(BIN) docs/events.png 25 "keys:e Return"
	scripts/screenshot.sh $(BIN) docs/burden.png 25 "keys:b"
	scripts/screenshot.sh $(BIN) docs/disclosure.png 25 "keys:Right Right Right Right Right Return d"
	SIM_BEDS=15 REPLAY="../shared/data/challenge2015/v143l 16 4m40s" scripts/screenshot.sh $(BIN) docs/replay-vt.png 32 "keys:Right Down Down Down Right Right Right Return"
	SIM_BEDS=15 REPLAY="../shared/data/mitdb/119 16 0s" scripts/screenshot.sh $(BIN) docs/replay-mitdb-119.png 40 "keys:Right Down Down Down Right Right Right Return"
	HL7="testdata/hl7/pcd01_multiparam.hl7 testdata/hl7/pcd01_local_codes.hl7" scripts/screenshot.sh $(BIN) docs/hl7.png 25 "keys:Next"
	SCREEN_SIZE=1280x800 scripts/screenshot.sh $(BIN) docs/ward-1280x800.png 25
	SCREEN_SIZE=1280x800 scripts/screenshot.sh $(BIN) docs/detail-1280x800.png 20 bed:05

package: deps ## build dist/Vigil.tar.xz (fyne tool) with its SBOM and SHA256SUMS
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux --release
	@mkdir -p dist && mv -f Vigil.tar.xz dist/
	@$(MAKE) --no-print-directory sbom checksums

checksums: ## write dist/SHA256SUMS for the release files in dist/ (sha256sum -c to verify)
	cd dist && rm -f SHA256SUMS && sha256sum $$(ls | grep -E '\.(tar\.xz|cdx\.json)$$') > SHA256SUMS && sha256sum -c SHA256SUMS

clean: ## remove build output
	rm -rf bin dist

.PHONY: help deps build run test golden bench fuzz fuzz-smoke lint sbom screenshot package checksums clean
