#!/usr/bin/env bash
# Runs on this machine the steps of github-actions.yml and gitlab-ci.yml:
#   1. install twoba-mock: unpack a .deb into a scratch root (no root needed), or use an
#      existing installation (--prefix, or twoba-conformance on PATH);
#   2. start the mock on a free port and wait for its READY line; your own integration tests
#      would point their authorize base URL at it ($TWOBA_MOCK_URL);
#   3. run the conformance kit against your adapter, keeping report.html and junit.xml.
#
# Usage: run-local.sh --client ADAPTER [--deb FILE | --prefix DIR] [--report DIR] [KIT ARGS...]
#   ADAPTER   the kit's --client value: 'requests-oauthlib', 'reference' or your adapter's
#             command line, e.g. 'jsonl:python3 my_adapter.py' (see ADAPTERS.md)
#   KIT ARGS  passed on to twoba-conformance, e.g. --only R38 R39 --profile rfc6749
# Exit status: the kit's (0 = no unexpected result), 2 for a setup problem.
set -euo pipefail

client="" deb="" prefix="" report="twoba-reports"
kit_args=()
while (($#)); do
  case "$1" in
    --client) client="$2"; shift 2 ;;
    --deb) deb="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) kit_args+=("$1"); shift ;;
  esac
done
[[ -n "$client" ]] || { echo "run-local.sh: --client ADAPTER is required (try --help)" >&2; exit 2; }
mkdir -p "$report"
report=$(cd "$report" && pwd)

# 1. Install.
if [[ -n "$deb" ]]; then
  root=$(mktemp -d "${TMPDIR:-/tmp}/twoba-root.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  dpkg-deb -x "$deb" "$root"
  prefix="$root/usr"
elif [[ -z "$prefix" ]]; then
  kit=$(command -v twoba-conformance) || {
    echo "run-local.sh: twoba-conformance not found: pass --deb FILE or --prefix DIR" >&2; exit 2; }
  prefix=$(dirname "$(dirname "$(readlink -f "$kit")")")
fi
mock_server="$prefix/bin/mock_server"
kit="$prefix/bin/twoba-conformance"
for f in "$mock_server" "$kit"; do
  [[ -x "$f" ]] || { echo "run-local.sh: $f missing: is twoba-mock installed there?" >&2; exit 2; }
done
echo "== twoba-mock $("$mock_server" --version | awk '{print $NF}') in $prefix"

# 2. Start the mock and wait for READY (it prints the line once it accepts connections).
coproc MOCK { exec "$mock_server" --port 0 --log-format json 2>"$report/mock.log"; }
mock_pid=$MOCK_PID
trap 'kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; rm -rf "${root:-}"' EXIT
ready=""
read -r -t 15 -u "${MOCK[0]}" ready || true
[[ "$ready" == READY\ * ]] || { echo "run-local.sh: the mock did not start:" >&2; cat "$report/mock.log" >&2; exit 2; }
export TWOBA_MOCK_URL="${ready#READY }"
echo "== mock at $TWOBA_MOCK_URL"
# Your own integration tests go here, with your application's authorize base URL set to
# $TWOBA_MOCK_URL. A token request stands in for them:
curl -fsS "$TWOBA_MOCK_URL/OAuth/Token" -d grant_type=password -d username=demo -d password=demo \
     -d client_id=demo-client -d client_secret=demo-secret -o /dev/null
echo "== token request against the mock: ok"

# 3. The conformance kit (it starts its own mock instances, one per scenario).
status=0
"$kit" --client "$client" --report "$report" "${kit_args[@]}" || status=$?
echo "== reports: $report/report.html, $report/junit.xml (kit exit status $status)"
exit "$status"
