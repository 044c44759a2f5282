#!/usr/bin/env bash
# Schema-driven fuzzing of the API: schemathesis generates requests from
# api/openapi.json, valid and invalid (--mode all), against a local server (as
# `make run` starts it, on a temporary data dir) with a valid key, and fails
# on any 5xx, any response that breaks its own schema, or any request the
# schema refuses that the API does not refuse (negative_data_rejection; what
# counts as a refusal is in scripts/schemathesis.toml). Bounded: a few
# thousand requests, about a minute on two cores. Extra arguments go to
# schemathesis (e.g. --include-operation-id quote-order).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/venv-schemathesis
[ -x $venv/bin/schemathesis ] || { python3 -m venv $venv && $venv/bin/pip install -q schemathesis==4.32.5; }
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
go build -o "$data/loyalty" ./cmd/loyalty
LOYALTY_DATA_DIR=$data LOYALTY_PORT=$port "$data/loyalty" serve >"$data/serve.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 150); do [ -s "$data/credentials.json" ] && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
key=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['apiKey'])" "$data/credentials.json")
$venv/bin/schemathesis --config-file scripts/schemathesis.toml run api/openapi.json --url "http://127.0.0.1:$port" -H "Authorization: Bearer $key" \
  --mode all --checks not_a_server_error,response_schema_conformance,negative_data_rejection \
  --max-examples "${MAX_EXAMPLES:-15}" --workers 2 "$@"
