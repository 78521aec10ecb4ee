#!/usr/bin/env bash
# cpack -G DEB from the build directory; checks the packages' dependencies, unpacks them with
# dpkg-deb -x into a scratch root and runs from there: the mock (READY and a token request),
# the conformance kit, and a consumer built against the -dev package's CMake package.
#   deb_test.sh BUILD_DIR PROJECT_VERSION
set -euo pipefail
build=$1 expected_version=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/twoba-deb-test.XXXXXX")
source "$(dirname "$0")/common.sh"
trap 'stop_mock; rm -rf "$scratch"' EXIT

(cd "$build" && cpack -G DEB -B "$scratch/out" >"$scratch/cpack.log" 2>&1) ||
  { cat "$scratch/cpack.log" >&2; fail "cpack -G DEB"; }
arch=$(dpkg --print-architecture)
deb="$scratch/out/twoba-mock_${expected_version}_${arch}.deb"
dev="$scratch/out/twoba-mock-dev_${expected_version}_${arch}.deb"
[[ -f "$deb" && -f "$dev" ]] || { ls -l "$scratch/out" >&2; fail "expected $deb and $dev"; }

# Depends: the shared libraries the binaries link (from dpkg-shlibdeps) and the kit's Python.
depends=$(dpkg-deb -f "$deb" Depends)
for p in libcpp-httplib0.11 libssl3 libstdc++6 libc6 python3 python3-pytest python3-requests; do
  [[ ", $depends," == *", $p "* || ", $depends," == *", $p,"* ]] || fail "twoba-mock Depends lacks $p: $depends"
done
dev_depends=$(dpkg-deb -f "$dev" Depends)
for p in libcpp-httplib-dev nlohmann-json3-dev libssl-dev pkg-config; do
  [[ "$dev_depends" == *"$p"* ]] || fail "twoba-mock-dev Depends lacks $p: $dev_depends"
done
[[ $(dpkg-deb -f "$deb" Version) == "$expected_version" ]] || fail "package version"
# Every file under usr/, the binaries in usr/bin, nothing of the build tree.
dpkg-deb -c "$deb" | awk '{print $NF}' >"$scratch/files"
dpkg-deb -c "$dev" | awk '{print $NF}' >"$scratch/dev-files"
grep -v '^\./usr/' "$scratch/files" | grep -v '^\./$' && fail "files outside /usr"
grep -qx '\./usr/bin/mock_server' "$scratch/files" || fail "no /usr/bin/mock_server"
grep -q 'twoba_clientConfig.cmake$' "$scratch/dev-files" || fail "no CMake package in -dev"
grep -q 'include/twoba/' "$scratch/files" && fail "headers belong in -dev, not in the runtime package"

root=$scratch/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$dev" "$root"
file "$root/usr/bin/mock_server" | grep -q ELF || fail "mock_server is not an ELF binary"
expect_version "$root/usr/bin/mock_server"

start_mock "${clean_env[@]}" "$root/usr/bin/mock_server"
reply=$(token_request "$MOCK_URL") || fail "token request to the packaged mock"
[[ "$reply" == '{"access_token":'*'"refresh_token":'* ]] || fail "token reply: $reply"

cmake -S "$root/usr/share/twoba-mock/doc/examples/consumer" -B "$scratch/consumer" \
      -DCMAKE_PREFIX_PATH="$root/usr" >"$scratch/consumer.log" 2>&1 &&
  cmake --build "$scratch/consumer" >>"$scratch/consumer.log" 2>&1 ||
  { cat "$scratch/consumer.log" >&2; fail "building the consumer against the -dev package"; }
out=$("$scratch/consumer/consumer" "$MOCK_URL" "$scratch/tokens.json") || fail "consumer: $out"
[[ "$out" == "200 "* ]] || fail "consumer printed: $out"
stop_mock

"${clean_env[@]}" "$root/usr/bin/twoba-conformance" --client reference --only R38 \
    --report "$scratch/report" >"$scratch/kit.log" 2>&1 ||
  { cat "$scratch/kit.log" >&2; fail "packaged twoba-conformance --client reference"; }
[[ -s "$scratch/report/junit.xml" && -s "$scratch/report/report.html" ]] || fail "no reports"
echo "deb test: ok ($(basename "$deb"), $(basename "$dev"))"
