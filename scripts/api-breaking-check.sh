#!/usr/bin/env bash
# Breaking-change guard of the HTTP contract: compares api/openapi.json with
# the one of the previous commit (oasdiff) and fails on a breaking change.
# Passes when the previous commit has no document.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD~1}
prev=$(mktemp)
trap 'rm -f "$prev"' EXIT
if ! git show "$base:api/openapi.json" >"$prev" 2>/dev/null; then
  echo "api-breaking-check: $base has no api/openapi.json; nothing to compare"
  exit 0
fi
go run github.com/oasdiff/oasdiff@v1.36.0 breaking "$prev" api/openapi.json --fail-on ERR
echo "api-breaking-check: no breaking change against $base"
