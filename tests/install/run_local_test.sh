#!/usr/bin/env bash
# ci/examples/run-local.sh, run for real: install into a scratch prefix, then the script starts
# the mock, makes a token request and runs the kit against the bundled requests-oauthlib adapter
# (a short selection). Its reports must exist and the JUnit file must name the checks run.
#   run_local_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/twoba-run-local-test.XXXXXX")
source "$(dirname "$0")/common.sh"
trap 'rm -rf "$scratch"' EXIT

cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
"${clean_env[@]}" "$source/ci/examples/run-local.sh" --prefix "$scratch/prefix" \
    --client requests-oauthlib --report "$scratch/reports" --only R38 R02 --wait 0.3 \
    >"$scratch/out.log" 2>&1 || { cat "$scratch/out.log" >&2; fail "run-local.sh exited $?"; }
cat "$scratch/out.log"
grep -q "== token request against the mock: ok" "$scratch/out.log" || fail "no token request"
for f in report.html junit.xml mock.log; do
  [[ -s "$scratch/reports/$f" ]] || fail "run-local.sh left no $f"
done
grep -q 'refresh/newest-token' "$scratch/reports/junit.xml" || fail "junit.xml lacks the R38 check"
grep -q '"path":"/OAuth/Token"' "$scratch/reports/mock.log" || fail "the mock's JSON log lacks the token request"

# A setup problem is exit status 2, with a message.
status=0
"$source/ci/examples/run-local.sh" --prefix "$scratch/nowhere" --client requests-oauthlib \
    --report "$scratch/r2" 2>"$scratch/err.log" || status=$?
[[ $status -eq 2 ]] && grep -q "missing" "$scratch/err.log" || fail "bad prefix: status $status"
echo "run-local test: ok"
