"""The flows the checks judge. Each names its fixture (fixtures/<name>.json) and, in its
docstring, what it does; faults and clock moves are made through the control API."""

import email.utils
import time

from .flows import flow
from .mockserver import TOKEN_PATH
from .step_labels import (
    CALL_1,
    CALL_2,
    CALL_3,
    CALL_4,
    CALL_401,
    CALL_AFTER_EXPIRY,
    CALL_AFTER_EXPIRY_1,
    CALL_AFTER_EXPIRY_2,
    PARALLEL_1,
    PARALLEL_2,
    REFRESH_1,
    REFRESH_2,
    REFRESH_3,
    REFRESH_429,
    REFRESH_429_USER_RETRY,
    REFRESH_503,
    REFRESH_503_USER_RETRY,
    REFRESH_AFTER_RESTART_1,
    REFRESH_AFTER_RESTART_2,
    REFRESH_BARE_400,
    REFRESH_DEAD,
    REFRESH_INVALID_CLIENT,
    REFRESH_INVALID_REQUEST,
    REFRESH_INVALID_SCOPE,
    REFRESH_UNAUTHORIZED_CLIENT,
    ROUND_TRIP,
)

SEARCH = "/Product/Search"  # relative to the product API base
SEARCH_PATH = SEARCH + "?query=Niko"


def _login_call_refresh_call(f, login_required=True):
    """The round trip most reply-variant scenarios need: login, call, refresh, call
    (step_labels.ROUND_TRIP)."""
    f.login_password(required=login_required)
    call_1, refresh_1, call_2 = ROUND_TRIP
    f.call_api(call_1)
    f.refresh(refresh_1)
    f.call_api(call_2)


@flow("basic", "default", cost=1)
def basic(f):
    """Password login, API calls, two explicit refreshes, then an access token that the server
    expired behind the client's back: the next call must refresh and retry."""
    f.login_password()
    f.call_api(CALL_1)
    f.refresh(REFRESH_1, required=True)
    f.call_api(CALL_2)
    f.refresh(REFRESH_2, required=True)
    f.call_api(CALL_3)
    f.expire_access_tokens()
    f.call_api(CALL_AFTER_EXPIRY)
    f.call_api(CALL_4)


@flow("restart", "default", cost=1)
def restart(f):
    """Refresh, restart the client (store kept), refresh again; restart, refresh, call: every
    first refresh after a restart must present the newest token."""
    f.login_password()
    f.refresh(REFRESH_1, required=True)
    f.restart("restart-1")
    f.refresh(REFRESH_AFTER_RESTART_1)
    f.restart("restart-2")
    f.refresh(REFRESH_AFTER_RESTART_2)
    f.call_api(CALL_1)


@flow("hostile-credentials", "conformance-hostile-credentials", cost=1)
def hostile_credentials(f):
    """Username and password full of `+ & = % / é €`, a client secret of printable ASCII
    specials only (`+ / = & % : space`, what RFC 6749 Appendix A allows in a secret), hostile
    tokens: login, call, refresh, call."""
    _login_call_refresh_call(f, login_required=False)


@flow("hostile-tokens", "conformance-hostile-tokens", cost=1)
def hostile_tokens(f):
    """Plain credentials but 2–4 KB tokens of `A–Z a–z 0–9 + / =`: login, call, refresh, call."""
    _login_call_refresh_call(f)


@flow("basic-auth", "conformance-basic-auth", client_auth="basic", cost=1)
def basic_auth(f):
    """The client is asked to authenticate with HTTP Basic; the secret holds `+ / = % :`."""
    f.login_password(required=False)
    f.refresh(REFRESH_1)


@flow("refresh-dies", "refresh-dies-after-two", cost=1)
def refresh_dies(f):
    """The 3rd refresh token of a grant is born expired: the third refresh gets 400
    invalid_grant. Then the access token expires and the client is asked to call, to refresh
    and (after a restart) to call again: the dead refresh token must never be sent again."""
    f.login_password()
    f.refresh(REFRESH_1)
    f.refresh(REFRESH_2)
    f.refresh(REFRESH_DEAD)
    f.expire_access_tokens()
    f.call_api("call-after-400")
    f.refresh("refresh-after-400")
    f.restart("restart")
    f.call_api("call-after-restart")


@flow("bare-400", "default", cost=1)
def bare_400(f):
    """Refresh answered with a bare HTTP 400 (empty body), then — after a fresh login — with
    400 {"error":"invalid_request"}. After each, the client is asked to refresh again."""
    f.login_password("login-1")
    f.fault(
        "refresh → 400, empty body (every time)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=400,
        body="",
        times=0,
    )
    f.refresh(REFRESH_BARE_400)
    f.refresh("refresh-again-1")
    f.clear_faults()
    f.login_password("login-2")
    f.fault(
        'refresh → 400 {"error":"invalid_request"} (every time)',
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=400,
        headers={"Content-Type": "application/json;charset=UTF-8"},
        body='{"error":"invalid_request","error_description":"The request is invalid"}',
        times=0,
    )
    f.refresh(REFRESH_INVALID_REQUEST)
    f.refresh("refresh-again-2")


@flow("no-rotation", "no-rotation", cost=1)
def no_rotation(f):
    """Rotation off: refresh replies carry no refresh_token. Refresh twice, restart, refresh
    again and call: the one refresh token must survive all of it."""
    f.login_password()
    f.refresh(REFRESH_1, required=True)
    f.refresh(REFRESH_2)
    f.restart("restart")
    f.refresh(REFRESH_3)
    f.call_api(CALL_1)


@flow("concurrency", "default", real_time_fixture="conformance-short-lived", cost=2)
def concurrency(f):
    """Time passes for server and client until the access token has expired, then 5 API calls
    run in parallel (the first refresh is slowed by 300 ms so that the calls overlap it);
    twice. Without client time (adapter protocol 1), 3-second tokens expire in real time."""
    f.login_password()
    f.call_api(CALL_1)
    f.let_access_tokens_expire()
    f.fault(
        "refresh delayed by 300 ms (once)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        delay_ms=300,
        times=1,
    )
    f.call_api(PARALLEL_1, concurrency=5)
    f.let_access_tokens_expire()
    f.call_api(PARALLEL_2, concurrency=5)


@flow("api-401", "default", cost=1)
def api_401(f):
    """The product API answers every call with 401 invalid_token: the client may refresh once
    and retry once, then must report the error."""
    f.login_password()
    # A fault rule names the mock's own path of the call: the product API's prefix first.
    f.fault(
        "API → 401 invalid_token (every time)",
        path=f.paths.product + SEARCH,
        status=401,
        headers={
            "WWW-Authenticate": 'Bearer error="invalid_token"',
            "Content-Type": "application/json; charset=utf-8",
        },
        body='{"IsError":true,"ErrorMessage":"Invalid token","Status":"Unauthorized"}',
        times=0,
    )
    f.call_api(CALL_401, path=SEARCH_PATH)


@flow("expiry", "conformance-expiry", real_time_fixture="conformance-short-lived", cost=1)
def expiry(f):
    """10-minute access tokens; time passes past their expiry twice, for the server and for the
    client (advance_time). Without client time (adapter protocol 1), 3-second tokens expire
    in real time instead."""
    f.login_password()
    f.call_api(CALL_1)
    f.call_api(CALL_2)
    f.let_access_tokens_expire()
    f.call_api(CALL_AFTER_EXPIRY_1)
    f.call_api(CALL_3)
    f.let_access_tokens_expire()
    f.call_api(CALL_AFTER_EXPIRY_2)
    f.call_api(CALL_4)


@flow("short-expiry", "fast-expiry", cost=1)
def short_expiry(f):
    """5-second access tokens (shorter than most clients' safety margin): four calls within
    about a second must not turn into a refresh loop."""
    f.login_password()
    for label in (CALL_1, CALL_2, CALL_3, CALL_4):
        f.call_api(label)


@flow("no-expires-in", "no-expires-in", cost=1)
def no_expires_in(f):
    """Token replies without expires_in; the clock jumps past the access token's lifetime."""
    f.login_password()
    f.call_api(CALL_1)
    f.advance_server_clock(f.access_token_lifetime() + 1)
    f.call_api(CALL_AFTER_EXPIRY)
    f.call_api(CALL_2)


@flow("lowercase-bearer", "lowercase-bearer", cost=1)
def lowercase_bearer(f):
    """token_type "bearer" in lowercase (and extra members): login, call, refresh, call."""
    _login_call_refresh_call(f, login_required=False)


@flow("extra-members", "conformance-extra-members", cost=1)
def extra_members(f):
    """Token replies with members the client does not know: login, call, refresh, call."""
    _login_call_refresh_call(f, login_required=False)


@flow("retry-after", "default", cost=4)
def retry_after(f):
    """A refresh answered 503 with `Retry-After: 1`, then one answered 429 with Retry-After as
    an HTTP date 2 s ahead; each once. Then an ordinary refresh and a call."""
    f.login_password()
    f.fault(
        "refresh → 503, Retry-After: 1 (once)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=503,
        headers={"Retry-After": "1", "Content-Type": "application/json"},
        body='{"error":"temporarily_unavailable"}',
        times=1,
    )
    s = f.refresh(REFRESH_503)
    if not s.reply.ok:
        f.wait(1.2, "the user retries after Retry-After")
        f.refresh(REFRESH_503_USER_RETRY)
    date = email.utils.formatdate(time.time() + 2, usegmt=True)
    f.fault(
        "refresh → 429, Retry-After: <HTTP date 2 s ahead> (once)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=429,
        headers={"Retry-After": date, "Content-Type": "application/json"},
        body='{"error":"slow_down"}',
        times=1,
    )
    s = f.refresh(REFRESH_429)
    if not s.reply.ok:
        f.wait(2.2, "the user retries after Retry-After")
        f.refresh(REFRESH_429_USER_RETRY)
    f.call_api(CALL_1)


@flow("terminal-errors", "default", cost=1)
def terminal_errors(f):
    """Refreshes answered (every time) with invalid_client (401), unauthorized_client and
    invalid_scope: each must be reported, not repeated unchanged."""
    f.login_password()
    f.fault(
        "refresh → 401 invalid_client (every time)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="2BA"', "Content-Type": "application/json"},
        body='{"error":"invalid_client","error_description":"Client authentication failed"}',
        times=0,
    )
    f.refresh(REFRESH_INVALID_CLIENT)
    f.clear_faults()
    # A fresh login before each error: a client may rightly drop its tokens after one.
    f.login_password("login-2")
    f.fault(
        "refresh → 400 unauthorized_client (every time)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=400,
        headers={"Content-Type": "application/json"},
        body='{"error":"unauthorized_client","error_description":"Grant not allowed"}',
        times=0,
    )
    f.refresh(REFRESH_UNAUTHORIZED_CLIENT)
    f.clear_faults()
    f.login_password("login-3")
    f.fault(
        "refresh → 400 invalid_scope (every time)",
        path=TOKEN_PATH,
        grant_type="refresh_token",
        status=400,
        headers={"Content-Type": "application/json"},
        body='{"error":"invalid_scope","error_description":"Unknown scope"}',
        times=0,
    )
    f.refresh(REFRESH_INVALID_SCOPE)


@flow("code", "default", cost=2)
def code(f):
    """Two authorization-code logins (the kit plays the user on the login page), a call after
    each: state and PKCE verifier must be fresh per flow."""
    f.login_code("login-code-1", required=True)
    f.call_api(CALL_1)
    f.login_code("login-code-2", required=True)
    f.call_api(CALL_2)


@flow("code-lost-reply", "default", cost=1)
def code_lost_reply(f):
    """The code exchange succeeds on the server but the reply is lost (connection dropped after
    commit): the client must not redeem the same code again."""
    f.fault(
        "code exchange → performed, reply dropped (once)",
        path=TOKEN_PATH,
        grant_type="authorization_code",
        drop=True,
        after_commit=True,
        times=1,
    )
    f.login_code("login-code-lost")


@flow("code-wrong-state", "default", cost=1)
def code_wrong_state(f):
    """The redirect comes back with a state the client did not send."""
    f.login_code("login-code-wrong-state", behaviour="wrong_state")


@flow("code-missing-state", "default", cost=1)
def code_missing_state(f):
    """The redirect comes back without a state."""
    f.login_code("login-code-missing-state", behaviour="missing_state")


@flow("code-denied", "default", cost=1)
def code_denied(f):
    """The user presses Cancel: the redirect carries error=access_denied."""
    f.login_code("login-code-denied", behaviour="cancel")


@flow("code-pkce-rejected", "default", cost=1)
def code_pkce_rejected(f):
    """The first authorization request is answered error=invalid_request (as if S256 were not
    supported); the user then tries again."""
    f.login_code("login-code-rejected", behaviour="reject_pkce")
    f.login_code("login-code-again")


for _kind, _doc in (
    ("good", "a certificate from the kit's test CA for 127.0.0.1 (the control)"),
    ("self_signed", "a self-signed certificate"),
    ("wrong_host", "a certificate from the test CA for another host name"),
    ("expired", "a certificate from the test CA that expired in 2020"),
):

    def _tls(f, _kind=_kind):
        f.login_password(required=False)
        if _kind == "good":
            f.call_api(CALL_1)

    _tls.__doc__ = (
        "HTTPS mock with %s; the client gets the test CA as its CA file. Password login." % _doc
    )
    flow("tls-" + _kind.replace("_", "-"), "default", tls=_kind, cost=1)(_tls)
