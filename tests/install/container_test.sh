#!/usr/bin/env bash
# The container image (Containerfile): builds on a Debian 12 base made by debootstrap (no registry
# needed), is small, runs as a non-root user with the fixtures, prints READY, serves the README's
# walkthrough through a published port (password grant, refresh, control API), serves --https
# with a CA a verifying client trusts, and exits 0 promptly on SIGTERM as PID 1. As a CI service
# container: a job container on a podman network reaches it by its alias over HTTP and --https
# (TWOBA_PUBLIC_HOST / --public-host), moves its clock and sees the 400; an undeclared Host is 403.
# Prints the figures: build time, image size, podman run -> READY.
# Exit 77 (ctest: skipped) only where rootful podman with runc cannot run a container here.
# Usage: container_test.sh SOURCE_DIR
set -euo pipefail
src=$1
# One tag per checkout: two checkouts testing at once on one podman must not run each other's image.
image=localhost/twoba-mock:test-$(printf '%s' "$(cd "$src" && pwd)" | md5sum | cut -c1-8)
podman() { command podman --runtime runc "$@"; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
seconds() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }

command -v podman >/dev/null || skip "podman is not installed (ci/install-deps installs it)"
[[ $(id -u) -eq 0 ]] || skip "rootful podman is needed and this user is not root"
nofile=$(ulimit -Hn)
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=32768:32768)
base=$("$src/ci/debian-base-image") || fail "cannot make the Debian base image"
probe=$(podman run --rm "${limits[@]}" --network none "$base" true 2>&1) ||
  skip "podman cannot run a container on this machine: $(tail -1 <<<"$probe")"

names=()
net=twoba-mock-test-net-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/container-test.XXXXXX")
trap 'for n in "${names[@]}"; do podman rm -f "$n" >/dev/null 2>&1 || true; done
  podman network rm -f "$net" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

t0=$(now)
podman build -q "${limits[@]}" --build-arg "BASE=$base" -t "$image" -f "$src/Containerfile" "$src" \
  >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "podman build"; }
echo "image build: $(seconds "$t0" "$(now)") s"
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image size: $((size / 1000000)) MB"
((size < 150000000)) || fail "the image is $size bytes, over 150 MB"
[[ $(podman image inspect --format '{{.Config.User}}' "$image") == mock ]] || fail "not a non-root user"

# Starts the image with a published loopback port; sets $url (http(s)://127.0.0.1:PORT) and $log.
# run_opts: more podman run options (network, alias, environment).
run_opts=()
start() {
  local name=twoba-mock-test-$$-${#names[@]}
  names+=("$name")
  local t0
  t0=$(now)
  podman run -d --name "$name" "${limits[@]}" -p 127.0.0.1::8080 "${run_opts[@]}" "$image" "$@" >/dev/null
  for _ in $(seq 150); do
    podman logs "$name" 2>/dev/null | grep -q '^READY ' && break
    sleep 0.1
  done
  log=$(podman logs "$name" 2>&1)
  grep -q '^READY ' <<<"$log" || fail "no READY line: $log"
  echo "podman run -> READY ($*): $(seconds "$t0" "$(now)") s"
  local scheme=http
  [[ "$*" == *--https* ]] && scheme=https
  url=$scheme://127.0.0.1:$(podman port "$name" 8080 | sed 's/.*://')
  container=$name
}

start
[[ $(podman exec "$container" id -u) != 0 ]] || fail "runs as root"
podman exec "$container" test -f /usr/share/twoba-mock/fixtures/fast-expiry.json || fail "no fixtures"
M=$url
form=(-d client_id=demo-client -d client_secret=demo-secret)
RT1=$(curl -fsS "$M/OAuth/Token" -d grant_type=password -d username=demo -d password=demo "${form[@]}" |
  jq -er .refresh_token) || fail "password grant"
RT2=$(curl -fsS "$M/OAuth/Token" -d grant_type=refresh_token -d "refresh_token=$RT1" "${form[@]}" |
  jq -er .refresh_token) || fail "refresh grant"
[[ "$RT2" != "$RT1" ]] || fail "the refresh token did not rotate"
# The control API from the host, through the published port.
curl -fsS "$M/__mock/clock" -H 'Content-Type: application/json' -d '{"advance": 1296000}' >/dev/null ||
  fail "control API"
reply=$(curl -sS "$M/OAuth/Token" -d grant_type=refresh_token -d "refresh_token=$RT2" "${form[@]}")
[[ $(jq -r .error_description <<<"$reply") == "The refresh token has expired." ]] || fail "after 15 days: $reply"
curl -fsS "$M/s/fast-expiry/OAuth/Token" -d grant_type=password -d username=demo -d password=demo \
  "${form[@]}" -o /dev/null || fail "scenario fast-expiry"

# As a CI service container: the job runs in its own container on the same network and calls the
# mock by its alias, as GitLab's services and GitHub's job containers do (ci/examples). The job's
# image is the base with curl and jq, as the examples' debian:12 job installs them (podman build
# caches it after the first run).
job_image=localhost/twoba-mock-ci-job:test
printf '%s\n' 'ARG BASE' 'FROM ${BASE}' \
  'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl jq ca-certificates && rm -rf /var/lib/apt/lists/*' \
  >"$work/Containerfile.job"
podman build -q "${limits[@]}" --build-arg "BASE=$base" -t "$job_image" -f "$work/Containerfile.job" "$work" \
  >"$work/job-build.log" 2>&1 || { cat "$work/job-build.log" >&2; fail "podman build of the CI job image"; }
podman network create "$net" >/dev/null
podman network inspect --format '{{.DNSEnabled}}' "$net" | grep -qx true ||
  fail "podman network $net has no DNS for aliases (install golang-github-containernetworking-plugin-dnsname or netavark with aardvark-dns)"
run_opts=(--network "$net" --network-alias twoba-mock -e TWOBA_PUBLIC_HOST=twoba-mock)
start
run_opts=(--network "$net" --network-alias twoba-mock-tls)
start --https --public-host twoba-mock-tls
podman cp "$container:$(sed -n 's/^CA-FILE //p' <<<"$log")" "$work/ca.pem"
run_opts=(--network "$net" --network-alias twoba-mock-undeclared)
start
# The walkthrough from the job's side: login, refresh, 15 days on the clock, the refresh token's
# 400; a Host the mock was not told of stays 403 on the control API.
cat >"$work/job.sh" <<'EOF'
set -u
fail() { echo "FAIL ($M): $*" >&2; exit 1; }
M=$1
shift
curl=(curl -sS "$@")
app=(-d client_id=demo-client -d client_secret=demo-secret)
RT=$("${curl[@]}" -f "$M/OAuth/Token" -d grant_type=password -d username=demo -d password=demo "${app[@]}" |
  jq -er .refresh_token) || fail "password grant"
RT=$("${curl[@]}" -f "$M/OAuth/Token" -d grant_type=refresh_token -d "refresh_token=$RT" "${app[@]}" |
  jq -er .refresh_token) || fail "refresh grant"
status=$("${curl[@]}" -o /dev/null -w '%{http_code}' "$M/__mock/requests" -H 'Host: rebind.example')
[[ $status == 403 ]] || fail "a foreign Host got $status from the control API"
"${curl[@]}" -f "$M/__mock/clock" -H 'Content-Type: application/json' -d '{"advance": 1296000}' >/dev/null ||
  fail "the control API by the alias"
reply=$("${curl[@]}" "$M/OAuth/Token" -d grant_type=refresh_token -d "refresh_token=$RT" "${app[@]}" -w ' %{http_code}')
[[ $reply == *'"The refresh token has expired."'*' 400' ]] || fail "after 15 days: $reply"
echo "job container: $M: login, refresh, clock +15 days, 400; a foreign Host 403"
EOF
job() { podman run --rm "${limits[@]}" --network "$net" -v "$work:/job:ro" "$job_image" bash /job/job.sh "$@"; }
job http://twoba-mock:8080 || fail "the service by its alias over HTTP"
job https://twoba-mock-tls:8080 --cacert /job/ca.pem || fail "the service by its alias over HTTPS"
# A verifying client without the CA refuses the certificate.
job https://twoba-mock-tls:8080 >/dev/null 2>&1 && fail "HTTPS by the alias without the CA was accepted"
undeclared=$(podman run --rm "${limits[@]}" --network "$net" "$job_image" curl -sS -o /dev/null \
  -w '%{http_code}' http://twoba-mock-undeclared:8080/__mock/health)
[[ $undeclared == 403 ]] || fail "an alias not declared with TWOBA_PUBLIC_HOST got $undeclared, not 403"
run_opts=()

# SIGTERM to PID 1: exit status 0, well before podman's 10 s SIGKILL.
t0=$(now)
podman stop -t 10 "$container" >/dev/null
stop_s=$(seconds "$t0" "$(now)")
echo "podman stop (SIGTERM) -> exited: $stop_s s"
[[ $(podman inspect --format '{{.State.ExitCode}}' "$container") == 0 ]] || fail "exit status after SIGTERM"
awk -v s="$stop_s" 'BEGIN { exit !(s < 5) }' || fail "SIGTERM took $stop_s s"

# --https: the CA file named after READY, copied out, verifies the certificate from the host.
start --https
ca_path=$(sed -n 's/^CA-FILE //p' <<<"$log")
[[ -n "$ca_path" ]] || fail "no CA-FILE line: $log"
podman cp "$container:$ca_path" "$work/ca.pem"
curl -fsS --cacert "$work/ca.pem" "${url/127.0.0.1/localhost}/__mock/health" | jq -e '.status == "ok"' >/dev/null ||
  fail "HTTPS with the CA"
curl -sS "$url/__mock/health" -o /dev/null 2>/dev/null && fail "HTTPS without the CA was accepted"
echo "container image: all checks passed"
