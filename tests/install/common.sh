# Helpers for the install and package tests (sourced by bash scripts).

# start_mock BINARY [ARGS...]: starts the mock on a free port, waits for its READY line and sets
# MOCK_URL and MOCK_PID. Fails when no READY line comes within 15 s.
start_mock() {
  coproc MOCK_PROC { exec "$@" --port 0 2>"$scratch/mock.stderr"; }
  MOCK_PID=$MOCK_PROC_PID
  local line=""
  read -r -t 15 -u "${MOCK_PROC[0]}" line || true
  if [[ "$line" != READY\ http://* ]]; then
    echo "FAIL: no READY line from $1 (got '$line')" >&2
    cat "$scratch/mock.stderr" >&2
    return 1
  fi
  MOCK_URL=${line#READY }
}

stop_mock() {
  if [[ -n "${MOCK_PID:-}" ]]; then
    kill -TERM "$MOCK_PID" 2>/dev/null || true
    wait "$MOCK_PID" 2>/dev/null || true
    MOCK_PID=""
  fi
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_version COMMAND...: the command's --version output ends with the project version.
expect_version() {
  local out
  out=$("$@" --version) || fail "$1 --version exited $?"
  [[ "$out" == *" $expected_version" ]] || fail "$1 --version printed '$out', expected version $expected_version"
}

# A token request with the default fixture's demo credentials; prints the JSON reply.
token_request() {
  curl -fsS "$1/OAuth/Token" -d grant_type=password -d username=demo -d password=demo \
       -d client_id=demo-client -d client_secret=demo-secret
}

# A clean environment: nothing from the build tree may leak into the installed tools.
clean_env=(env -u TWOBA_MOCK_SERVER -u TWOBA_CLIENT_BINARY -u TWOBA_FIXTURES_DIR
           PATH=/usr/bin:/bin HOME="${HOME:-/tmp}")
