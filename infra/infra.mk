# CDK targets, included by the root Makefile.
CDK_VERSION := 2.1148.1
CDK_DIR     := .cache/cdk-cli
CDK         := CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(CDK_DIR)/node_modules/.bin/cdk

.PHONY: test-infra synth deploy deploy-local cdk-cli assembly

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
