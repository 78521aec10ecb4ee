#!/usr/bin/env bash
# Throughput of the token endpoint with --state-file over 15 one-second slices of wrk load
# against one mock, so a store (and state file) that grows with the run shows as falling req/s.
# Each second also shows the state file's size: its snapshot line and the lines appended after it.
# Usage: bench/hardening/state_file_throughput.sh MOCK_BINARY [password|refresh] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mock="$1"
workload="${2:-password}"
seconds="${3:-15}"
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$mock" --port 0 --quiet --fixture "$root/fixtures/default.json" --state-file "$dir/state.json" \
  >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do grep -q READY "$dir/out" && break; sleep 0.1; done
url="$(sed -n 's/^READY //p' "$dir/out")"
total=0
for i in $(seq "$seconds"); do
  rate="$(wrk -t1 -c16 -d1s -s "$root/bench/lua/$workload.lua" "$url/OAuth/Token" |
          sed -n 's/^Requests\/sec: *//p')"
  size="$(stat -c %s "$dir/state.json" 2>/dev/null || echo 0)"
  # The first line is the snapshot; the lines after it, the changes appended since.
  snapshot="$(head -n 1 "$dir/state.json" 2>/dev/null | wc -c)"
  printf 'second %2d: %8.0f req/s, state file %s bytes (snapshot %s, appended %s)\n' \
    "$i" "$rate" "$size" "$snapshot" "$((size - snapshot))"
done
