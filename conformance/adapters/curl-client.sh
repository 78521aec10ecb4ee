#!/usr/bin/env bash
# A plain curl + jq 2BA client, driven by the kit's one-shot CLI adapter protocol (ADAPTERS.md,
# version 2):
#   curl-client.sh COMMAND [--path P] [--concurrency N] [--username U] [--seconds S]   (password on stdin)
# Configuration in TWOBA_* variables; tokens in $TWOBA_STATE_DIR/tokens.json.
# Exit: 0 ok, 3 relogin required, 4 transport, 5 server error, 6 other OAuth/HTTP error,
# 7 parse error, 127 unsupported.
set -uo pipefail

store="${TWOBA_STATE_DIR:?}/tokens.json"
lock="${TWOBA_STATE_DIR}/tokens.lock"
tls=()
[[ -n "${TWOBA_CA_FILE:-}" ]] && tls=(--cacert "$TWOBA_CA_FILE")

cmd="${1:-}"; shift || true
path="" concurrency=1 username="" seconds=""
while (($#)); do
  case "$1" in
    --path) path="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --username) username="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) shift ;;
  esac
done

# POST the token endpoint; every value form-encoded by curl. Prints the body, returns the status.
token_post() {
  local auth=() creds=()
  if [[ "${TWOBA_CLIENT_AUTH:-body}" == basic ]]; then
    auth=(-u "${TWOBA_CLIENT_ID}:${TWOBA_CLIENT_SECRET}")   # curl sends the raw id:secret
  else
    creds=(--data-urlencode "client_id=${TWOBA_CLIENT_ID}")
    [[ -n "${TWOBA_CLIENT_SECRET:-}" ]] && creds+=(--data-urlencode "client_secret=${TWOBA_CLIENT_SECRET}")
  fi
  local out
  out=$(curl -sS "${tls[@]}" "${auth[@]}" -w '\n%{http_code}' "${creds[@]}" "$@" "$TWOBA_TOKEN_URL") || return 4
  body="${out%$'\n'*}"
  status="${out##*$'\n'}"
}

save_tokens() {  # $1 = reply body, $2 = refresh token to keep when the reply has none
  jq -e '.access_token' >/dev/null 2>&1 <<<"$1" || return 7
  jq --arg rt "${2:-}" '{access_token, refresh_token: (.refresh_token // $rt)}' <<<"$1" >"$store.tmp" &&
    mv "$store.tmp" "$store"
}

do_refresh() {  # $1 = the access token the caller saw ("" = refresh unconditionally)
  exec 9>"$lock"
  flock 9
  [[ -f "$store" ]] || return 3
  local at rt
  at=$(jq -r .access_token "$store"); rt=$(jq -r '.refresh_token // empty' "$store")
  if [[ -n "$1" && "$at" != "$1" ]]; then return 0; fi   # another process already refreshed
  [[ -n "$rt" ]] || return 3
  token_post --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$rt" || return $?
  case "$status" in
    200) save_tokens "$body" "$rt" ;;
    # A bare 400 (empty body) is terminal too; jq 1.6 -e would call empty input a match.
    400) if [[ -n "$body" ]] && jq -e '.error == "invalid_client" or .error == "unauthorized_client" or .error == "invalid_scope"' \
             >/dev/null 2>&1 <<<"$body"; then return 6; fi
         rm -f "$store"; return 3 ;;
    5*|429) return 5 ;;
    *) return 6 ;;
  esac
}

call_once() {
  local at code
  for attempt in 1 2; do
    [[ -f "$store" ]] || return 3
    at=$(jq -r .access_token "$store")
    code=$(curl -sS "${tls[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $at" \
      "${TWOBA_PRODUCT_API_BASE%/}$path") || return 4
    [[ "$code" == 200 ]] && return 0
    [[ "$code" == 401 && $attempt == 1 ]] || break
    do_refresh "$at" || return $?
  done
  [[ "$code" == 5* ]] && return 5
  return 6
}

case "$cmd" in
  login_password)
    IFS= read -r password
    token_post --data-urlencode grant_type=password --data-urlencode "username=$username" \
      --data-urlencode "password=$password" || exit $?
    [[ "$status" == 200 ]] || { [[ "$status" == 5* ]] && exit 5; exit 6; }
    save_tokens "$body" "" || exit 7 ;;
  refresh) do_refresh "" || exit $? ;;
  call_api)
    pids=()
    for ((i = 0; i < concurrency; i++)); do call_once & pids+=($!); done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    exit "$rc" ;;
  # It keeps no expiry (it refreshes after a 401), so time passing changes nothing in it.
  advance_time) [[ "$seconds" =~ ^[0-9]+$ ]] || exit 2 ;;
  info) echo "RESULT {\"protocol\":2,\"name\":\"curl-client.sh\",\"version\":\"$(curl --version | head -1 | cut -d' ' -f2)\"}" ;;
  *) exit 127 ;;
esac
