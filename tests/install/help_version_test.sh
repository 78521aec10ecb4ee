#!/usr/bin/env bash
# Every tool answers --help (exit 0, usage, documents --help and --version and its exit status)
# and --version (exit 0, the project's version), the same way.
#   help_version_test.sh PROJECT_VERSION MOCK_SERVER TWOBA_CLIENT CONFORMANCE_RUN
set -euo pipefail
expected_version=$1
shift
source "$(dirname "$0")/common.sh"
for tool in "$@"; do
  help=$("$tool" --help) || fail "$tool --help exited $?"
  [[ "$help" == [Uu]sage:* ]] || fail "$tool --help does not start with a usage line"
  for word in --help --version "xit"; do
    [[ "$help" == *"$word"* ]] || fail "$tool --help does not mention $word"
  done
  expect_version "$tool"
  status=0
  "$tool" --no-such-flag >/dev/null 2>&1 || status=$?
  [[ $status -eq 2 ]] || fail "$tool --no-such-flag: exit $status, expected 2 (usage error)"
done
echo "help/version: ok"
