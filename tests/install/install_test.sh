#!/usr/bin/env bash
# cmake --install into a scratch prefix; then, from that prefix only: the layout, --version of
# every tool, the mock on its installed default fixture, a consumer project built with
# find_package(twoba_client CONFIG) and run against it, and the installed conformance kit.
#   install_test.sh BUILD_DIR PROJECT_VERSION SOURCE_DIR
set -euo pipefail
build=$1 expected_version=$2 source_dir=$3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/twoba-install-test.XXXXXX")
source "$(dirname "$0")/common.sh"
trap 'stop_mock; rm -rf "$scratch"' EXIT
prefix=$scratch/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/mock_server bin/twoba-client bin/twoba-conformance include/twoba/oauth_client.h \
         share/twoba-mock/fixtures/default.json share/twoba-mock/fixtures/README.md \
         share/twoba-mock/conformance/run share/twoba-mock/conformance/ADAPTERS.md \
         share/twoba-mock/openapi.json share/twoba-mock/doc/README.md \
         share/twoba-mock/ci-examples/run-local.sh share/twoba-mock/doc/examples/consumer/main.cpp; do
  [[ -e "$prefix/$f" ]] || fail "not installed: $f"
done
lib=$(find "$prefix" -name 'libtwoba_client.*' | head -1)
[[ -n "$lib" ]] || fail "the client library is not installed"
config=$(find "$prefix" -name twoba_clientConfig.cmake)
[[ -n "$config" && -e "$(dirname "$config")/twoba_clientConfigVersion.cmake" ]] ||
  fail "twoba_clientConfig.cmake / twoba_clientConfigVersion.cmake not installed"
if find "$prefix" -name '__pycache__' | grep -q .; then fail "__pycache__ installed"; fi

expect_version "$prefix/bin/mock_server"
expect_version "$prefix/bin/twoba-client"
expect_version "${clean_env[@]}" "$prefix/bin/twoba-conformance"
grep -q "\"version\": \"$expected_version\"" "$prefix/share/twoba-mock/openapi.json" ||
  fail "installed openapi.json does not carry version $expected_version"

# The installed mock finds its installed default fixture without --fixture, and nothing points
# it back into the source tree it was built from.
for tool in mock_server twoba-client; do
  if grep -qaF "$source_dir/fixtures" "$prefix/bin/$tool"; then
    fail "$tool has the source tree's fixture folder compiled in"
  fi
done
start_mock "${clean_env[@]}" "$prefix/bin/mock_server"
health=$(curl -fsS "$MOCK_URL/__mock/health")
[[ "$health" == *"\"fixture\":\"$prefix/"*"share/twoba-mock/fixtures/default.json\""* ]] ||
  fail "the installed mock does not serve the installed default fixture: $health"
token_request "$MOCK_URL" | grep -q '"access_token"' || fail "no token from the installed mock"

# A consumer project: find_package(twoba_client CONFIG), target_link_libraries(consumer twoba::client).
cmake -S "$prefix/share/twoba-mock/doc/examples/consumer" -B "$scratch/consumer" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$scratch/consumer.log" 2>&1 ||
  { cat "$scratch/consumer.log" >&2; fail "configuring the consumer against the installed package"; }
cmake --build "$scratch/consumer" >>"$scratch/consumer.log" 2>&1 ||
  { cat "$scratch/consumer.log" >&2; fail "building the consumer"; }
out=$("$scratch/consumer/consumer" "$MOCK_URL" "$scratch/tokens.json") || fail "consumer: $out"
[[ "$out" == "200 "*'"GTIN":"08711893010011"'* ]] || fail "consumer printed: $out"
stop_mock

# The installed kit, with the installed mock and the installed twoba-client (reference adapter).
"${clean_env[@]}" "$prefix/bin/twoba-conformance" --client reference --only R38 R39 \
    --report "$scratch/report" >"$scratch/kit.log" 2>&1 ||
  { cat "$scratch/kit.log" >&2; fail "installed twoba-conformance --client reference"; }
grep -q "PASS" "$scratch/kit.log" || { cat "$scratch/kit.log" >&2; fail "no check passed"; }
for f in report.html junit.xml index.json; do
  [[ -s "$scratch/report/$f" ]] || fail "the kit wrote no $f"
done
# The same through share/twoba-mock/conformance/run.
"${clean_env[@]}" "$prefix/share/twoba-mock/conformance/run" --client reference --only R38 \
    >"$scratch/kit2.log" 2>&1 || { cat "$scratch/kit2.log" >&2; fail "installed conformance/run"; }
echo "install test: ok ($prefix)"
