# CDK targets, included by the root Makefile.
CDK_VERSION := 2.1148.1
CDK_DIR     := .cache/cdk-cli
CDK         := CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(CDK_DIR)/node_modules/.bin/cdk

.PHONY: test-infra synth deploy deploy-local cdk-cli assembly checkov

## test-infra: CDK assertion tests of the stack (first run compiles the jsii bundle: minutes)
# go test -vet=all vets as go vet ./... does, in the same build; progress
# prints a line at least every 30 s through the silent jsii compile.
test-infra: $(PROGRESS)
	cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(abspath $(PROGRESS)) -label infra -- go test -json -vet=all -count=1 -timeout 20m ./...

# The CDK CLI lives in its own folder: a node_modules at the Go module root breaks go vet.
cdk-cli: $(CDK_DIR)/node_modules/.bin/cdk
$(CDK_DIR)/node_modules/.bin/cdk:
	mkdir -p $(CDK_DIR) && cd $(CDK_DIR) && npm install --silent --no-audit --no-fund --save-exact aws-cdk@$(CDK_VERSION)

# The CDK CLI runs the synthesized assembly: the app is run here, directly
# (the CLI cannot wait on `go run`'s child process).
assembly:
	cd infra && CDK_OUTDIR=../cdk.out JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 go run ./app

## synth: build the functions and synthesize the stack into cdk.out/
synth: build assembly

## deploy: deploy to the AWS account of the environment (STAGE=prod for production)
deploy: build cdk-cli
	cd infra && CDK_OUTDIR=../cdk.out LOYALTY_STAGE=$${STAGE:-dev} JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 go run ./app
	$(CDK) deploy --app cdk.out --require-approval never

## deploy-local: deploy to a LocalStack-compatible endpoint and run the smoke flow
deploy-local: cdk-cli
	bash localstack/deploy.sh

CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .cache/venv-checkov
CHECKOV_DIR     := .cache/checkov
# Checks skipped for the whole template: one `CHECKOV_SKIP += CKV_…` line
# each, with its reason in a comment above it. A finding on one resource is
# skipped in the template instead (checkov metadata on that resource, with
# its reason next to it in stack.go).
CHECKOV_SKIP :=
# CKV_AWS_115 (reserved concurrency per function): requests are throttled at
# the API stage (100/s, burst 200); reserving concurrency takes it out of the
# account's unreserved pool (new accounts may have 10 in all) and can make
# the deploy fail; every function has a Throttles alarm.
CHECKOV_SKIP += CKV_AWS_115
# CKV_AWS_117 (function in a VPC): the functions reach only AWS endpoints
# (DynamoDB, SNS, SES, Secrets Manager), no private network; a VPC would
# need a NAT gateway or an endpoint per service and protects nothing here.
CHECKOV_SKIP += CKV_AWS_117
# CKV_AWS_173 (environment encrypted with a customer key): the environment
# holds the table name, notifier mode, sender address and the secret's ARN,
# no secret (the OTP key is read from Secrets Manager at start); Lambda
# encrypts it at rest with its own key.
CHECKOV_SKIP += CKV_AWS_173
# CKV_AWS_158 (log groups under a customer key): CloudWatch Logs encrypts
# all log data at rest; the functions log errors and sweep summaries, no
# personal data, and the access log leaves out addresses and paths.
CHECKOV_SKIP += CKV_AWS_158
checkov_empty :=
checkov_skip_list = $(subst $(checkov_empty) $(checkov_empty),$(comma),$(strip $(CHECKOV_SKIP)))
comma := ,

## checkov: synthesize the stack (dev and prod) and scan both templates with checkov; any failed check fails
checkov:
	@command -v python3 >/dev/null || { echo "checkov: python3 (with venv) is needed"; exit 1; }
	@$(CHECKOV_VENV)/bin/checkov --version 2>/dev/null | grep -qx '$(CHECKOV_VERSION)' || { rm -rf $(CHECKOV_VENV) && python3 -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION); }
	rm -rf $(CHECKOV_DIR) && mkdir -p $(CHECKOV_DIR)
	@# The template does not depend on what the binaries contain, so stand-ins
	@# spare the scan an arm64 build of every function (make synth builds them).
	for fn in $(FUNCTIONS); do mkdir -p $(CHECKOV_DIR)/build/$$fn && printf 'stand-in for the scan\n' > $(CHECKOV_DIR)/build/$$fn/bootstrap; done
	cd infra && go build -o ../$(CHECKOV_DIR)/synth ./app
	for stage in dev prod; do \
	  (cd infra && CDK_OUTDIR=../$(CHECKOV_DIR)/$$stage LOYALTY_STAGE=$$stage LOYALTY_BUILD_DIR=../$(CHECKOV_DIR)/build JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 ../$(CHECKOV_DIR)/synth) || exit 1; \
	done
	$(CHECKOV_VENV)/bin/checkov --framework cloudformation --skip-download --compact --quiet \
	  -f $(CHECKOV_DIR)/dev/Loyalty-dev.template.json -f $(CHECKOV_DIR)/prod/Loyalty-prod.template.json \
	  $(if $(strip $(CHECKOV_SKIP)),--skip-check $(checkov_skip_list))
