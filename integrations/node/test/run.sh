#!/usr/bin/env bash
# The Testcontainers module (integrations/node) against podman's Docker-compatible API: builds
# the image as install.container does (or takes TWOBA_MOCK_IMAGE), serves podman's API on a
# socket of its own, and runs test/container.test.mjs and the README's Node example with
# DOCKER_HOST pointing at it. No registry is reachable here, so Testcontainers' reaper (Ryuk,
# an image pulled from Docker Hub) is off; the tests stop their containers themselves.
# Exit 77 (ctest: skipped) where podman, root or Node.js is missing or podman cannot run a container.
# Usage: run.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
here=$src/integrations/node
podman() { command podman --runtime runc "$@"; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

type -P podman >/dev/null ||  # not command -v: that finds the function above
  skip "podman is not installed (ci/install-deps installs it: apt-get install podman runc uidmap slirp4netns)"
[[ $(id -u) -eq 0 ]] || skip "rootful podman is needed and this user is not root"
command -v node >/dev/null || skip "Node.js is not installed (ci/install-deps installs it: apt-get install nodejs npm)"
"$here/install"

nofile=$(ulimit -Hn)
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=32768:32768)
image=${TWOBA_MOCK_IMAGE:-}
if [[ -z "$image" ]]; then
  image=localhost/twoba-mock:test  # the tag install.container builds: one cache for both
  base=$("$src/ci/debian-base-image") || fail "cannot make the Debian base image"
  probe=$(podman run --rm "${limits[@]}" --network none "$base" true 2>&1) ||
    skip "podman cannot run a container on this machine: $(tail -1 <<<"$probe")"
  podman build -q "${limits[@]}" --build-arg "BASE=$base" -t "$image" -f "$src/Containerfile" "$src" \
    >/dev/null || fail "podman build"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/node-testcontainers.XXXXXX")
service=
example=$here/test/readme-example.generated.test.mjs
cleanup() {
  local status=$?
  if [[ -n "$service" ]]; then
    kill "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true  # 143: it ended on our SIGTERM
  fi
  rm -rf "$work" "$example"
  exit "$status"
}
trap cleanup EXIT
# Containers created through the API get podman's default rlimits unless containers.conf says
# otherwise, and runc cannot raise RLIMIT_NOFILE above this machine's hard limit: the same
# limits install.container passes with --ulimit, as the service's defaults, so that the tests
# (and the README's example) need no withUlimits().
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n' "$nofile" "$nofile" \
  >"$work/containers.conf"
CONTAINERS_CONF=$work/containers.conf podman system service --time=0 "unix://$work/podman.sock" \
  >"$work/service.log" 2>&1 &
service=$!
for _ in $(seq 100); do [[ -S "$work/podman.sock" ]] && break; sleep 0.1; done
[[ -S "$work/podman.sock" ]] || { cat "$work/service.log" >&2; fail "podman system service did not listen"; }

# The README's Node example (the js block after its docs-test marker), as a partner would save it.
awk '/<!-- docs-test: run by integrations.node_testcontainers -->/ { marked = 1; next }
     marked && /^```js$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$src/README.md" >"$example"
[[ -s "$example" ]] || fail "README.md has no js block after the marker <!-- docs-test: run by integrations.node_testcontainers -->"

export DOCKER_HOST=unix://$work/podman.sock TESTCONTAINERS_RYUK_DISABLED=true TWOBA_MOCK_IMAGE=$image
# Inside a container (/.dockerenv) Testcontainers reaches published ports through the bridge's
# gateway; this test talks to its own podman on this host, where they are on localhost (the name
# the mock's --https certificate carries).
if [[ -e /.dockerenv ]]; then export TESTCONTAINERS_HOST_OVERRIDE=localhost; fi
before=$(podman ps -aq | sort)
cd "$here"
node --test --test-concurrency=1 test/container.test.mjs "$example"
# Every container the tests started is gone (stop() removes it).
after=$(podman ps -aq | sort)
[[ "$after" == "$before" ]] || fail "containers left behind: $(comm -13 <(echo "$before") <(echo "$after"))"
echo "node testcontainers: all checks passed"
