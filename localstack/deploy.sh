#!/usr/bin/env bash
# Deploy the synthesized stack to a LocalStack-compatible endpoint and run the
# smoke flow through the deployed HTTP API. With AWS_ENDPOINT_URL set it uses
# that endpoint (LocalStack proper); otherwise it installs and starts the
# PyPI package ministack on a free port and stops it at the end. Deploying
# twice in a row updates the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
  [ -n "${KEEP:-}" ] && { echo "deploy-local: KEEP set, leaving $work and the emulator running"; return; }
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
export CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION=$AWS_REGION
export CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  venv=.cache/venv-ministack
  [ -x $venv/bin/ministack ] || { python3 -m venv $venv && $venv/bin/pip install -q ministack==1.5.33; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  GATEWAY_PORT=$port BIND_HOST=127.0.0.1 S3_DATA_DIR=$work/s3 $venv/bin/ministack >"$work/ministack.log" 2>&1 &
  pids+=($!)
  export AWS_ENDPOINT_URL=http://127.0.0.1:$port
  for _ in $(seq 1 100); do curl -sf "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null && break; sleep 0.2; done
  curl -sf "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null || { echo "ministack did not start"; cat "$work/ministack.log"; exit 1; }
fi
E=$AWS_ENDPOINT_URL
echo "deploy-local: endpoint $E"

# The CDK bootstrap resources the deployment expects (emulators accept any signature).
sig() { echo "AWS4-HMAC-SHA256 Credential=$AWS_ACCESS_KEY_ID/20260101/$AWS_REGION/$1/aws4_request, SignedHeaders=host, Signature=0"; }
curl -sf -X POST "$E/" -H "X-Amz-Target: AmazonSSM.PutParameter" -H "Content-Type: application/x-amz-json-1.1" -H "Authorization: $(sig ssm)" \
  -d '{"Name":"/cdk-bootstrap/hnb659fds/version","Value":"30","Type":"String","Overwrite":true}' >/dev/null
curl -sf -o /dev/null -X PUT "$E/cdk-hnb659fds-assets-$CDK_DEFAULT_ACCOUNT-$AWS_REGION" -H "Authorization: $(sig s3)" || true

# Functions built for this machine (the emulator runs them natively), the
# stack synthesized with messages kept in the table for the smoke test.
arch=$(go env GOARCH)
make --no-print-directory build LAMBDA_ARCH="$arch" BUILD_DIR="$work/build" >/dev/null
(cd infra && CDK_OUTDIR="$work/cdk.out" LOYALTY_BUILD_DIR="$work/build" LOYALTY_NOTIFIER=table LOYALTY_LAMBDA_ARCH="$arch" LOYALTY_EMULATOR_ENDPOINT="$E" go run ./app)
cdk=(.cache/cdk-cli/node_modules/.bin/cdk deploy --app "$work/cdk.out" --require-approval never --outputs-file "$work/outputs.json")
"${cdk[@]}" >"$work/deploy.log" 2>&1 || { tail -40 "$work/deploy.log"; exit 1; }
echo "deploy-local: deployed; deploying again (an update)"
"${cdk[@]}" >"$work/deploy2.log" 2>&1 || { tail -40 "$work/deploy2.log"; exit 1; }

out() { python3 -c "import json,sys; d=json.load(open('$work/outputs.json')); print(list(d.values())[0]['$1'])"; }
API=$(out ApiUrl)
TABLE=$(out TableName)
echo "deploy-local: API $API, table $TABLE"

# Smoke flow through the deployed API.
export AWS_ENDPOINT_URL_DYNAMODB=$E LOYALTY_TABLE=$TABLE LOYALTY_DATA_DIR=$work/cli
fail() { echo "smoke: $*"; [ -f "$work/ministack.log" ] && tail -25 "$work/ministack.log"; exit 1; }
call() { # method path body [idempotency-key] → sets STATUS and BODY
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$1" "$API$2" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
  [ -n "${3:-}" ] && args+=(-d "$3")
  [ -n "${4:-}" ] && args+=(-H "Idempotency-Key: $4")
  STATUS=$(curl "${args[@]}")
  BODY=$(cat "$work/body")
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$1)" "$BODY"; }
expect() { [ "$STATUS" = "$1" ] || fail "$2: status $STATUS, want $1: $BODY"; echo "smoke: $2 → $STATUS"; }

# Pay-as-you-go: its usage is counted by the deployed dispatch function from
# the table's stream, which the smoke flow checks at the end.
TENANT=$(go run ./cmd/loyalty tenant create --name Smoke --plan payg)
KEY=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['apiKey'])" "$TENANT")
# A webhook receiver on the host's loopback (the emulator runs the functions
# on the host; the stack lets them reach it, see LOYALTY_WEBHOOK_LOOPBACK),
# registered through the deployed API: it must get the flow's events. It is
# down (503) for its first request, which the worker retries 5 s later
# through the kick queue's delay.
python3 localstack/receiver.py "$work/hooks.jsonl" "$work/hooks.port" 1 &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/hooks.port" ] && break; sleep 0.1; done
call POST /v1/webhooks "{\"url\":\"http://127.0.0.1:$(cat "$work/hooks.port")/hooks\",\"description\":\"smoke\"}"; expect 201 "register webhook"
HOOK_SECRET=$(field "['secret']")
HOOK=$(field "['webhookId']")
call POST /v1/programs '{"name":"Smoke","type":"bonus","cashbackPercent":5,"maxRedeemPercent":50}'; expect 201 "create program"
PROGRAM=$(field "['programId']")
call POST "/v1/programs/$PROGRAM/activate"; expect 200 "activate program"
call POST /v1/enrollments '{"phone":"+79120000001","consent":{"terms":true}}'; expect 201 enroll
CHALLENGE=$(field "['challengeId']")
MSG=$(go run ./cmd/loyalty outbox last --to +79120000001)
CODE=$(python3 -c "import json,re,sys; print(re.search(r'\b\d{4,10}\b', json.loads(sys.argv[1])['body']).group(0))" "$MSG")
call POST "/v1/enrollments/$CHALLENGE/verify" "{\"code\":\"$CODE\"}"; expect 201 verify
MEMBER=$(field "['memberId']")
call POST /v1/orders/o1/close "{\"member\":{\"id\":\"$MEMBER\"},\"total\":100000}" smoke-close-1; expect 200 "close order"
[ "$(field "['accrued']")" = "5000" ] || fail "accrued $BODY"
call POST /v1/orders/o1/close "{\"member\":{\"id\":\"$MEMBER\"},\"total\":100000}" smoke-close-1; expect 200 "close replayed"
call POST /v1/orders/o2/redeem "{\"member\":{\"id\":\"$MEMBER\"},\"total\":10000,\"points\":1000}" smoke-redeem; expect 200 redeem
call POST /v1/orders/o2/close "{\"member\":{\"id\":\"$MEMBER\"},\"total\":10000}" smoke-close-2; expect 200 "close with points"
call POST /v1/orders/o1/refunds '{"refundId":"r1","amount":50000}' smoke-refund; expect 200 refund
[ "$(field "['reversedAccrual']")" = "2500" ] || fail "refund $BODY"
call GET "/v1/members/$MEMBER"; expect 200 balance
echo "smoke: balance $(field "['balance']")"
call POST /v1/admin/expiry-sweep; expect 200 "sweep route"
call GET /healthz; expect 200 health

# The scheduled function itself, invoked through the Lambda API.
SWEEP=$(curl -sf -X GET "$E/2015-03-31/functions/" -H "Authorization: $(sig lambda)" | python3 -c "import json,sys; print([f['FunctionName'] for f in json.load(sys.stdin)['Functions'] if 'ExpireSweep' in f['FunctionName']][0])")
RES=$(curl -sf -X POST "$E/2015-03-31/functions/$SWEEP/invocations" -H "Authorization: $(sig lambda)" -d '{"source":"aws.scheduler","detail":{}}')
echo "smoke: expire-sweep function → $RES"
echo "$RES" | grep -q expiredLots || fail "sweep invocation: $RES"
# The feed: the table's stream → the dispatch function (its event source
# mapping) counts the pay-as-you-go tenant's operations: enroll, verify,
# redeem, two closes and the refund.
for _ in $(seq 1 60); do
  call GET /v1/usage; [ "$STATUS" = 200 ] && [ "$(field "['total']")" = "6" ] && break; sleep 1
done
expect 200 "usage counted from the stream"
[ "$(field "['total']")" = "6" ] || fail "usage from the stream: $BODY (want total 6: enroll, verify, redeem, 2 closes, refund)"
# The webhook: the dispatch function queued a delivery per event and kicked
# the deliver-webhooks function through SQS, which signed and POSTed them.
want=member.enrolled,points.accrued,points.redeemed,points.captured,points.refunded
for _ in $(seq 1 90); do
  rc=0; python3 localstack/receiver.py check "$work/hooks.jsonl" "$HOOK_SECRET" "$want" >"$work/hooks.check" || rc=$?
  [ "$rc" = 2 ] || break; sleep 1
done
cat "$work/hooks.check"
[ "$rc" = 0 ] || fail "webhook deliveries (want $want, each once, signed)"
call GET "/v1/webhooks/$HOOK/deliveries"; expect 200 "webhook delivery log"
echo "smoke: delivery log (status, response code → attempts) $(python3 -c 'import collections,json,sys; d=json.loads(sys.argv[1])["deliveries"]; print(dict(collections.Counter("%s %s" % (a["status"], a.get("responseCode", "-")) for a in d)))' "$BODY")"
[ "$(python3 -c "import json,sys; print(any(a.get('responseCode') == 503 and a['status'] == 'failed' for a in json.loads(sys.argv[1])['deliveries']))" "$BODY")" = True ] ||
  fail "delivery log shows no retried 503: $BODY"
echo "smoke: webhook received the flow's events"
echo "deploy-local: smoke flow passed"
