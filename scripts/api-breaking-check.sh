#!/usr/bin/env bash
# Breaking-change guard of the HTTP contract (oasdiff). Every version of
# api/openapi.json in the history is compared with its parent's, so
# a breaking change cannot slip through by landing together with later
# commits. A break made on purpose is accepted only when the commit that made
# it is listed in api/accepted-breaks.txt with a reason (reviewed in a diff).
#   scripts/api-breaking-check.sh            all versions
#   scripts/api-breaking-check.sh BASE       only the current document against BASE
set -euo pipefail
cd "$(dirname "$0")/.."
oasdiff=(go run github.com/oasdiff/oasdiff@v1.36.0)
accepted=api/accepted-breaks.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

compare() { # compare OLD_FILE NEW_FILE LABEL
  if "${oasdiff[@]}" breaking "$1" "$2" --fail-on ERR >"$tmp/out" 2>&1; then
    return 0
  fi
  echo "api-breaking-check: breaking change in $3:"
  cat "$tmp/out"
  return 1
}

if [ $# -ge 1 ]; then
  if ! git show "$1:api/openapi.json" >"$tmp/base.json" 2>/dev/null; then
    echo "api-breaking-check: $1 has no api/openapi.json; nothing to compare"
    exit 0
  fi
  compare "$tmp/base.json" api/openapi.json "api/openapi.json against $1"
  echo "api-breaking-check: no breaking change against $1"
  exit 0
fi

if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  echo "api-breaking-check: WARNING: shallow clone, only the versions it holds are compared"
fi
# Every commit that changed the document, oldest first, compared with the
# document of its parent. A merge is compared with each of its parents: it
# breaks the contract only when it breaks against all of them, since what one
# side brought was already checked on that side's own commits (comparing
# versions in log order instead would set one branch's document against
# another's).
mapfile -t commits < <(git log --reverse --format=%H -- api/openapi.json)
failed=0 pairs=0
for new in "${commits[@]}"; do
  git show "$new:api/openapi.json" >"$tmp/new.json"
  broken=0 compared=0
  for parent in $(git rev-list --parents -n 1 "$new" | cut -d' ' -f2-); do
    git show "$parent:api/openapi.json" >"$tmp/old.json" 2>/dev/null || continue
    compared=1
    if compare "$tmp/old.json" "$tmp/new.json" "commit ${new:0:12} (against ${parent:0:12})" >"$tmp/report"; then
      broken=0
      break
    fi
    broken=1
  done
  pairs=$((pairs + compared))
  if ((broken)); then
    if grep -q "^${new:0:12}" "$accepted" 2>/dev/null; then
      echo "api-breaking-check: ${new:0:12} breaks the contract on purpose: $(grep "^${new:0:12}" "$accepted" | cut -d' ' -f2-)"
    else
      cat "$tmp/report"
      failed=1
    fi
  fi
done
if ((${#commits[@]} > 0)) && ! git diff --quiet "${commits[-1]}" -- api/openapi.json; then
  git show "${commits[-1]}:api/openapi.json" >"$tmp/old.json"
  pairs=$((pairs + 1))
  compare "$tmp/old.json" api/openapi.json "the working tree" || failed=1
fi
if ((failed)); then
  echo "api-breaking-check: FAILED (a break made on purpose needs its commit in $accepted with a reason)"
  exit 1
fi
echo "api-breaking-check: $pairs versions of api/openapi.json compared with their parents', no unaccepted breaking change"
