"""Processing the token response, refresh and rotation, errors and retries, using the token at
the resource server, and TLS (catalog sections F–J)."""

import email.utils

from kit.catalog import Blocked, Verdict, check
from kit.evidence import (
    bearer_token,
    client_auth_methods,
    form1,
    form_of,
    is_form,
    refresh_requests,
    sent_access_token,
    step_requests,
    where,
)
from kit.journal import header, query_of, response_json
from kit.step_labels import (
    CALL_1,
    CALL_2,
    CALL_401,
    CALL_AFTER_EXPIRY,
    CALL_AFTER_EXPIRY_1,
    CALL_AFTER_EXPIRY_2,
    LOGIN,
    PARALLEL_1,
    PARALLEL_2,
    REFRESH_2,
    REFRESH_3,
    REFRESH_429_USER_RETRY,
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

ALL_FAIL = {"2ba": "FAIL", "rfc6749": "FAIL", "bcp": "FAIL"}
ALL_WARN = {"2ba": "WARN", "rfc6749": "WARN", "bcp": "WARN"}


def _api_state(e):
    st = (e.get("outcome") or {}).get("token_state")
    if st:
        return st
    return "valid" if e.get("status") == 200 else "rejected (%s)" % e.get("status")


def _need_reply_ok(ctx, run, label, why):
    s = run.step(label)
    if s is None:
        ctx.not_observed("step '%s' never ran (%s)" % (label, run.aborted or "flow stopped"), run)
        return None
    if not s.reply.ok:
        ctx.step_failed(
            run, s, "step '%s': the client reported %s — %s" % (label, s.reply.describe(), why)
        )
    return s


# --- F. the token response --------------------------------------------------------------------


@check(
    "api/newest-access-token",
    "API calls carry the newest access token as Bearer",
    ["R27", "RFC6749-7", "RFC6750-2.1"],
    ["basic", "expiry"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_newest_access_token(ctx, *runs):
    """In sequential steps every API call uses the access token of the newest token response,
    in `Authorization: Bearer`."""
    n = 0
    for r in runs:
        for e in r.journal.api_requests():
            n += 1
            tok = bearer_token(e)
            newest = r.journal.newest_access_token_before(e["seq"])
            if tok is None:
                auth = header(e, "Authorization")
                ctx.violation(
                    "%s no Bearer Authorization header (%s)"
                    % (where(r, e), (auth or "none").split(" ")[0]),
                    r.name,
                    e["seq"],
                    grade=ALL_FAIL,
                )
            elif tok != newest:
                ctx.violation(
                    "%s sends %s; the newest access token was %s"
                    % (where(r, e), r.journal.label(tok), r.journal.label(newest)),
                    r.name,
                    e["seq"],
                )
    if not n:
        ctx.not_observed("no API call observed", runs[0])
    elif not ctx.findings:
        ctx.passed("%d API calls, each with the newest access token" % n)


def _fails_in_control(ctx, run, control, label, message):
    """A step of the reply-variant flow `run` misses what the check looks for. When the same
    step of the plain `control` flow (same labels) fails too, the variant is not the cause:
    BLOCKED with the control's root cause; so when an earlier step of `run` cut it short for a
    cause other checks judge. Else the violation stands."""
    own, failed = run.step(label), run.failed_step()
    if own is not None and failed is not None and failed.n < own.n:
        raise Blocked("%s — blocked: %s" % (message, run.root_cause()))
    s = control.step(label) if control is not None else None
    if s is None or not s.reply.ok:
        cause = control.root_cause() if control is not None else None
        raise Blocked(
            "%s — the same step fails on plain replies too — blocked: %s"
            % (
                message,
                cause
                or "flow '%s', step '%s' %s"
                % (getattr(control, "name", "-"), label, s.reply.describe() if s else "never ran"),
            )
        )
    ctx.violation(message, run.name)


def _call_kept_token(ctx, run, control, s, what):
    """The API requests of call step `s` carry access tokens the server issued, byte for byte.
    Whether it is the newest one is api/newest-access-token's question; how it travels and
    whether the API accepted the request are the other api/ checks'."""
    j = run.journal
    calls = step_requests(run, s, j.api_requests())
    if not calls and s.reply.ok:
        ctx.passed("step '%s': the client answered without calling the API" % s.label, run.name)
        return
    if not calls:
        _fails_in_control(
            ctx,
            run,
            control,
            s.label,
            "step '%s': no API call after a reply with %s (%s)"
            % (s.label, what, s.reply.describe()),
        )
        return
    if all(sent_access_token(e) is None for e in calls):
        _fails_in_control(
            ctx,
            run,
            control,
            s.label,
            "step '%s': no API call carried an access token " "(see api/token-in-header)" % s.label,
        )
        return
    issued = {v for _, k, v, _ in j.issued if k == "access_token"}
    for e in calls:
        tok = sent_access_token(e)
        if tok is not None and tok not in issued:
            ctx.violation(
                "%s sends %s, not an access token of a reply with %s"
                % (where(run, e), j.label(tok), what),
                run.name,
                e["seq"],
            )
    refused = [e for e in calls if e.get("status") != 200]
    if refused and all(sent_access_token(e) in issued for e in refused):
        # The token was one the client was given: the API refused the request for another
        # reason (token in the query as well, an older token, …), which the api/ checks judge.
        ctx.passed(
            "step '%s': an issued access token was sent; the API answered %s (judged by the "
            "api/ checks)" % (s.label, ", ".join(sorted({str(e.get("status")) for e in refused}))),
            run.name,
        )


def _refresh_kept_token(ctx, run, control, s, what):
    """The refresh step presents a refresh token the server issued (whether the newest is
    refresh/newest-token's question) and accepts the reply."""
    j = run.journal
    rs = refresh_requests(run, s)
    if not rs and s.reply.ok:
        ctx.passed("step '%s': the client answered without refreshing" % s.label, run.name)
        return
    if not rs:
        _fails_in_control(
            ctx,
            run,
            control,
            s.label,
            "step '%s': no refresh after a reply with %s (%s)"
            % (s.label, what, s.reply.describe()),
        )
        return
    issued_rt = {v for _, k, v, _ in j.issued if k == "refresh_token"}
    for r in rs:
        if r.token not in issued_rt:
            ctx.violation(
                "%s presents %s, not a refresh token of a reply with %s"
                % (where(run, r.entry), j.label(r.token), what),
                run.name,
                r.seq,
            )
    if not s.reply.ok:
        if any(r.status == 200 for r in rs):
            _fails_in_control(
                ctx,
                run,
                control,
                s.label,
                "step '%s': the refresh reply (with %s) was "
                "refused: %s" % (s.label, what, s.reply.describe()),
            )
        else:
            _fails_in_control(
                ctx,
                run,
                control,
                s.label,
                "step '%s': the refresh failed: %s" % (s.label, s.reply.describe()),
            )


def _works_with(ctx, run, what, control):
    """Judges what the reply variant can break: the client keeps and sends the tokens it was
    given. The login succeeds; each call carries an access token the server issued (which one,
    how it travels and whether the API accepted the request, the api/ checks judge); the
    refresh presents an issued refresh token and its reply is accepted. A step that fails in
    the plain `control` flow too is not the variant's fault: BLOCKED."""
    ctx.require_login(run, control)
    login = run.step(LOGIN)
    if login is None or not login.reply.ok:
        # The login reply is the variant under test: its failure is this check's violation.
        ctx.violation(
            "login failed on a reply with %s: %s"
            % (what, login.reply.describe() if login else "-"),
            run.name,
        )
        return
    for label in ROUND_TRIP:
        s = run.step(label)
        if s is None:
            ctx.not_observed(
                "step '%s' never ran (%s)" % (label, run.aborted or "flow stopped"), run
            )
        elif s.cmd == "call_api":
            _call_kept_token(ctx, run, control, s, what)
        else:
            _refresh_kept_token(ctx, run, control, s, what)
    if ctx.worst() == Verdict.PASS:
        ctx.passed(
            "the client kept and sent the tokens of replies with %s (%d API call(s), %d refresh(es))"
            % (what, len(run.journal.api_requests()), len(run.journal.refreshes))
        )


@check(
    "token-response/token-type-case",
    "token_type is case-insensitive (`bearer`)",
    ["R28", "RFC6749-5.1", "RFC6749-7.1"],
    ["lowercase-bearer", "basic"],
    ALL_FAIL,
)
def test_token_type_case(ctx, run, basic):
    """With `"token_type":"bearer"` the client logs in, calls the API and refreshes as usual.
    (A login that fails in the plain `basic` flow too is not this reply's fault: BLOCKED.)"""
    _works_with(ctx, run, 'token_type "bearer"', basic)


@check(
    "token-response/unknown-members",
    "Unknown members of the token response are ignored",
    ["R29", "RFC6749-5.1"],
    ["extra-members", "basic"],
    ALL_FAIL,
)
def test_unknown_members(ctx, run, basic):
    """Replies with `.issued`, `userName`, `x_nested` objects and arrays work as usual."""
    _works_with(ctx, run, "unknown members", basic)


@check(
    "token-response/large-tokens",
    "Tokens of any size and alphabet are sent back byte for byte",
    ["R30", "RFC6749-5.1"],
    ["hostile-tokens", "basic"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_large_tokens(ctx, run, basic):
    """2–4 KB tokens full of `+ / =`: every API call carries an issued access token exactly
    (wherever it travels: that is api/token-in-header's), the refresh carries the whole refresh
    token (a `+` turned into a space is a form-encoding fault, judged by
    token-request/form-values, and only noted here). A client that sends no token at all in the
    plain `basic` flow either is judged by api/token-in-header: BLOCKED."""
    ctx.require_login(run, basic)
    issued_at = {v for _, k, v, _ in run.journal.issued if k == "access_token"}
    issued_rt = {v for _, k, v, _ in run.journal.issued if k == "refresh_token"}
    api = run.journal.api_requests()
    carried = [e for e in api if sent_access_token(e) is not None]
    for e in carried:
        tok = sent_access_token(e)
        if tok not in issued_at:
            ctx.violation(
                "%s access token is not an issued one (%s)"
                % (where(run, e), run.journal.label(tok)),
                run.name,
                e["seq"],
            )
    for r in run.journal.refreshes:
        if r.token in issued_rt:
            continue
        if any(t.replace("+", " ") == r.token for t in issued_rt):
            ctx.info(
                "%s refresh token arrived with '+' as spaces: not form-encoded (see token-request/form-values)"
                % where(run, r.entry),
                run.name,
                r.seq,
            )
        else:
            ctx.violation(
                "%s refresh token altered: %s" % (where(run, r.entry), run.journal.label(r.token)),
                run.name,
                r.seq,
            )
    if not api:
        ctx.not_observed("no API call observed", run)
    elif not carried:
        s = run.step_of(api[0])
        _fails_in_control(
            ctx,
            run,
            basic,
            s.label if s else CALL_1,
            "no API call carried an access token (see api/token-in-header)",
        )
    if not run.journal.refreshes:
        ctx.not_observed("no refresh observed", run)
    if not ctx.findings:
        sizes = sorted(len(v) for _, k, v, _ in run.journal.issued)
        ctx.passed("tokens of %d–%d characters sent back intact" % (sizes[0], sizes[-1]))


def _expired_uses(ctx, run, label_of_use):
    """Access tokens sent again after the server had rejected them as expired or invalid."""
    j = run.journal
    uses = {}
    for e in j.api_requests():
        # The token wherever it travels: a client that sends it in the query is judged by
        # api/token-in-header, not taken here for one that sends no token at all.
        tok = sent_access_token(e)
        if tok is not None and (_api_state(e) in ("expired", "revoked") or e.get("status") == 401):
            uses.setdefault(tok, []).append(e)
    for tok, es in uses.items():
        if len(es) > 1:
            ctx.violation(
                "%s access token %s sent %d times (%s)"
                % (label_of_use, j.label(tok), len(es), ", ".join(where(run, e) for e in es)),
                run.name,
                [e["seq"] for e in es],
            )
    return uses


@check(
    "expiry/refresh-on-expiry",
    "When its access token expires the client refreshes; an expired token is not used again",
    ["R32", "RFC6749-5.1", "RFC6750-3.1", "2BA-refresh"],
    ["expiry"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_refresh_on_expiry(ctx, run):
    """Time passes for the server and for the client (adapter protocol 2: advance_time; else
    real time with 3-second tokens) until the access token has expired, twice. Allowed: a
    refresh before the call (the client's own clock), or one call with the expired token, then
    a refresh, then calls with the new token. Not allowed: the expired token sent again, or the
    call failing. More than one refresh per token lifetime → WARN."""
    _expired_uses(ctx, run, "expired")
    for label in (CALL_AFTER_EXPIRY_1, CALL_AFTER_EXPIRY_2):
        s = run.step(label)
        if s is None:
            ctx.not_observed(
                "step '%s' never ran (%s)" % (label, run.aborted or "flow stopped"), run
            )
        elif (
            not s.reply.ok
            and not refresh_requests(run, s)
            and any(sent_access_token(e) for e in step_requests(run, s, run.journal.api_requests()))
        ):
            ctx.step_failed(
                run,
                s,
                "step '%s': the access token expired and the client did not refresh (%s)"
                % (label, s.reply.describe()),
            )
    # refreshes per access-token lifetime: between the moments time passed
    marks = {s.n for s in run.time_passed_steps()}
    windows, cur = [], []
    for s in run.steps:
        if s.n in marks:
            windows.append(cur)
            cur = []
        else:
            cur.append(s)
    windows.append(cur)
    for i, w in enumerate(windows):
        n = sum(1 for s in w for r in refresh_requests(run, s) if r.status == 200)
        if n > 1:
            ctx.warn(
                "%d refreshes within one access-token lifetime (window %d)" % (n, i + 1), run.name
            )
    if not ctx.findings:
        ctx.passed(
            "each expiry cost at most one rejected call and one refresh (%s)" % run.clock.mode
            + " time"
        )


@check(
    "expiry/server-invalidated",
    "A 401 before the client's own expiry: refresh once and retry",
    ["R32", "RFC6750-3.1", "2BA-refresh"],
    ["basic"],
    {"2ba": "WARN", "rfc6749": "INFO", "bcp": "WARN"},
)
def test_server_invalidated(ctx, run):
    """The server expires the access token early, behind the client's back (its own clock still
    says valid). The next call gets 401 invalid_token: the client should refresh and retry,
    and not send the dead token again. A client that trusts only its own clock leaves the user
    stuck until the token's nominal expiry."""
    _expired_uses(ctx, run, "server-invalidated")
    s = run.step(CALL_AFTER_EXPIRY)
    if s is None:
        ctx.not_observed(
            "step '%s' never ran (%s)" % (CALL_AFTER_EXPIRY, run.aborted or "flow stopped"), run
        )
    elif not refresh_requests(run, s):
        ctx.step_failed(
            run,
            s,
            "after a 401 for its still-valid-looking access token the client did not refresh (%s)"
            % s.reply.describe(),
        )
    elif not s.reply.ok:
        ctx.step_failed(
            run,
            s,
            "the client refreshed after the 401 but the call failed (%s)" % s.reply.describe(),
        )
    if not ctx.findings:
        ctx.passed("the 401 led to one refresh and a successful retry")


@check(
    "token-response/no-expires-in",
    "Works when expires_in is absent",
    ["R33", "RFC6749-5.1"],
    ["no-expires-in", "basic"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_no_expires_in(ctx, run, basic):
    """Without expires_in the client falls back to refreshing on a 401; refreshing before every
    call is WARN. A first call that fails in the plain `basic` flow too is not this reply's
    fault: BLOCKED."""
    ctx.require_login(run, basic)
    first = run.step(CALL_1)
    if first is not None and not first.reply.ok:
        # Before the token expires nothing differs from the plain flow but the missing member.
        _fails_in_control(
            ctx, run, basic, CALL_1, "step '%s' failed: %s" % (CALL_1, first.reply.describe())
        )
    for label in (LOGIN, CALL_AFTER_EXPIRY, CALL_2):
        _need_reply_ok(ctx, run, label, "")
    s = run.step(CALL_AFTER_EXPIRY)
    if s is not None and s.reply.ok and not refresh_requests(run, s):
        ctx.violation("no refresh after the access token expired", run.name)
    n = len(run.journal.refreshes)
    if n > 2:
        ctx.warn("%d refreshes for 3 calls: the client refreshes without need" % n, run.name)
    if not ctx.findings:
        ctx.passed("logged in, refreshed on expiry (%d refresh(es))" % n)


@check(
    "expiry/no-refresh-loop",
    "No refresh loop when expires_in is shorter than the safety margin",
    ["R35", "RFC6749-5.1"],
    ["short-expiry", "basic"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_no_refresh_loop(ctx, run, basic):
    """5-second tokens, four calls within about a second: more than two refreshes within one call
    is a loop (FAIL); a refresh before every call is WARN. A call that fails in the plain
    `basic` flow too (calls 1–4 there) is not the short lifetime's fault: BLOCKED."""
    total = 0
    for s in run.steps:
        if s.cmd != "call_api":
            continue
        n = len(refresh_requests(run, s))
        total += n
        if n > 2:
            ctx.violation("step '%s' made %d refreshes: refresh loop" % (s.label, n), run.name)
        if not s.reply.ok:
            _fails_in_control(
                ctx, run, basic, s.label, "step '%s' failed: %s" % (s.label, s.reply.describe())
            )
    calls = len([s for s in run.steps if s.cmd == "call_api"])
    if calls and total >= calls:
        ctx.warn(
            "%d refreshes for %d calls made within the token's lifetime" % (total, calls), run.name
        )
    if not ctx.findings:
        ctx.passed("%d refresh(es) for %d calls" % (total, calls))


# --- G. refresh and rotation -------------------------------------------------------------------


@check(
    "refresh/request",
    "Refresh request: grant_type, refresh_token, client authentication, scope",
    ["R37", "RFC6749-6"],
    ["basic", "restart"],
    ALL_FAIL,
)
def test_refresh_request(ctx, *runs):
    """grant_type=refresh_token, a non-empty refresh_token, client authentication; a scope, if
    sent, no wider than the one originally requested."""
    n = 0
    for r in runs:
        original = None
        for e in r.journal.token_requests():
            gt = form1(e, "grant_type")
            if gt in ("password", "authorization_code"):
                original = form1(e, "scope")
            if gt != "refresh_token":
                continue
            n += 1
            if not form1(e, "refresh_token"):
                ctx.violation("%s refresh without refresh_token" % where(r, e), r.name, e["seq"])
            if not client_auth_methods(e):
                ctx.violation(
                    "%s refresh without client authentication" % where(r, e), r.name, e["seq"]
                )
            sc = form1(e, "scope")
            if sc is not None:
                if original is None:
                    ctx.warn(
                        "%s refresh asks scope %r though the login asked none" % (where(r, e), sc),
                        r.name,
                        e["seq"],
                    )
                elif not set(sc.split()) <= set(original.split()):
                    ctx.violation(
                        "%s refresh widens scope %r → %r" % (where(r, e), original, sc),
                        r.name,
                        e["seq"],
                    )
    if not n:
        ctx.not_observed("no refresh observed", runs[0])
    elif not ctx.findings:
        ctx.passed("%d refresh request(s) well formed" % n)


def _presented_states(ctx, run, refreshes, what):
    for r in refreshes:
        if r.state == "rotated":
            ctx.violation(
                "%s presents %s, already rotated: %s"
                % (where(run, r.entry), run.journal.label(r.token), what),
                run.name,
                r.seq,
            )
        elif r.state not in ("active",):
            ctx.violation(
                "%s presents %s, state %s"
                % (where(run, r.entry), run.journal.label(r.token), r.state),
                run.name,
                r.seq,
            )


@check(
    "refresh/newest-token",
    "Each refresh presents the newest refresh token",
    ["R38", "RFC6749-6", "2BA-token", "2BA-refresh"],
    ["basic", "expiry"],
    ALL_FAIL,
)
def test_newest_refresh_token(ctx, *runs):
    """2BA rotates the refresh token on every refresh; the client must replace the old one."""
    n = 0
    for r in runs:
        n += len(r.journal.refreshes)
        _presented_states(ctx, r, r.journal.refreshes, "the client kept the old refresh token")
    if not n:
        ctx.not_observed("no refresh observed", runs[0])
    elif not ctx.findings:
        ctx.passed("%d refreshes, each with the newest refresh token" % n)


@check(
    "refresh/survives-restart",
    "The rotated refresh token survives a restart",
    ["R39", "RFC6749-6"],
    ["restart"],
    ALL_FAIL,
)
def test_survives_restart(ctx, run):
    """After each restart the first refresh presents the newest refresh token."""
    for label in (REFRESH_AFTER_RESTART_1, REFRESH_AFTER_RESTART_2):
        s = run.step(label)
        if s is None:
            ctx.not_observed(
                "step '%s' never ran (%s)" % (label, run.aborted or "flow stopped"), run
            )
            continue
        rs = refresh_requests(run, s)
        if not rs:
            ctx.violation(
                "step '%s': no refresh; the client reported %s (refresh token lost?)"
                % (label, s.reply.describe()),
                run.name,
            )
            continue
        _presented_states(ctx, run, rs[:1], "the rotated token was not persisted")
    if not ctx.findings:
        ctx.passed("the newest refresh token was used after both restarts")


@check(
    "refresh/kept-when-not-rotated",
    "A refresh reply without refresh_token keeps the current one",
    ["R40", "RFC6749-6"],
    ["no-rotation"],
    ALL_FAIL,
)
def test_kept_when_not_rotated(ctx, run):
    """Rotation off: the second and third refresh still present the original refresh token."""
    first = run.journal.refreshes[0].token if run.journal.refreshes else None
    for label in (REFRESH_2, REFRESH_3):
        s = run.step(label)
        if s is None:
            ctx.not_observed("step '%s' never ran" % label, run)
            continue
        rs = refresh_requests(run, s)
        if not rs:
            ctx.violation(
                "step '%s': no refresh (reply %s): the refresh token was dropped"
                % (label, s.reply.describe()),
                run.name,
            )
        for r in rs:
            if not r.token or r.token in ("None", "null", "undefined"):
                ctx.violation(
                    "%s refresh_token is %r" % (where(run, r.entry), r.token), run.name, r.seq
                )
            elif r.token != first:
                ctx.violation(
                    "%s presents %s, not the unchanged refresh token"
                    % (where(run, r.entry), run.journal.label(r.token)),
                    run.name,
                    r.seq,
                )
        if not s.reply.ok:
            ctx.step_failed(run, s, "step '%s' failed: %s" % (label, s.reply.describe()))
    if not ctx.findings:
        ctx.passed("the unchanged refresh token was used %d times" % len(run.journal.refreshes))


@check(
    "refresh/single-flight",
    "Parallel calls with an expired token make one refresh per refresh token",
    ["R41", "RFC6749-6", "RFC9700-4.14.2"],
    ["concurrency"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_single_flight(ctx, run):
    """Time passes for server and client until the access token has expired; then five API
    calls run in parallel (the first refresh slowed by 300 ms so they overlap it); twice. Each
    refresh token may be presented once: a rotated token reused in a race kills the session at
    2BA — whether the callers refresh on their own clock or after a 401."""
    by_rt = {}
    for r in run.journal.refreshes:
        s = run.step_of(r.entry)
        by_rt.setdefault((s.label if s else None, r.token), []).append(r.entry)
    for (_, rt), es in by_rt.items():
        # Presenting a token again after the server refused it (and so did not rotate it) is a
        # retry, judged elsewhere; after it was accepted and rotated it is the race.
        first_ok = next((i for i, e in enumerate(es) if e.get("status") == 200), None)
        if first_ok is not None and len(es) > first_ok + 1:
            ctx.violation(
                "%s presented %d times at once (%s)"
                % (
                    run.journal.label(rt),
                    len(es),
                    ", ".join("#%d→%s" % (e["seq"], e.get("status")) for e in es),
                ),
                run.name,
                [e["seq"] for e in es],
            )
    if not any(r.status == 200 for r in run.journal.refreshes) and not ctx.findings:
        cause = run.root_cause()
        raise Blocked(
            cause
            or "no refresh succeeded when the access token expired "
            "(judged by expiry/refresh-on-expiry)"
        )
    for label in (PARALLEL_1, PARALLEL_2):
        s = run.step(label)
        if s is None:
            ctx.not_observed("step '%s' never ran" % label, run)
            continue
        if not refresh_requests(run, s):
            ctx.info(
                "step '%s': no refresh although the access token had expired (%s)"
                % (label, s.reply.describe()),
                run.name,
            )
        elif not s.reply.ok:
            ctx.info("step '%s': the client reported %s" % (label, s.reply.describe()), run.name)
    if not ctx.findings:
        ctx.passed(
            "%d refresh(es), one per refresh token (%s time)"
            % (len(run.journal.refreshes), run.clock.mode)
        )


@check(
    "api/401-retry-bounded",
    "After a 401 invalid_token: at most one refresh and one retry",
    ["R42", "RFC6750-3.1"],
    ["api-401"],
    ALL_WARN,
)
def test_401_bounded(ctx, run):
    """The API answers 401 every time: refresh once, retry once, report the error. Two rounds
    are tolerated (INFO); more is a loop (WARN)."""
    s = run.step(CALL_401)
    if s is None:
        ctx.not_observed("the call never ran", run)
        return
    refreshes = len(refresh_requests(run, s))
    calls = len([e for e in run.entries_of(s) if e in run.journal.api_requests()])
    if s.reply.abandoned:
        ctx.violation(
            "the client was still busy when the kit gave up (%d calls, %d refreshes)"
            % (calls, refreshes),
            run.name,
        )
    elif s.reply.ok:
        ctx.violation(
            "the client reported success although every call got 401", run.name, grade=ALL_FAIL
        )
    if refreshes > 2 or calls > 3:
        ctx.violation(
            "%d API calls and %d refreshes for one call: retry loop" % (calls, refreshes), run.name
        )
    elif refreshes == 2 or calls == 3:
        ctx.info("%d API calls and %d refreshes (one extra round)" % (calls, refreshes), run.name)
    if calls == 0:
        ctx.not_observed("no API call observed", run)
    if not ctx.findings:
        ctx.passed(
            "%d API call(s), %d refresh(es), then the error was reported (%s)"
            % (calls, refreshes, s.reply.kind)
        )


def _token_refused(e):
    """A 400 that refuses the refresh token itself: invalid_grant, or the scenario's fault (a
    bare 400, invalid_request) — not a 400 for the client's malformed request."""
    if e.get("status") != 400:
        return False
    return bool(e.get("fault")) or (response_json(e) or {}).get("error") == "invalid_grant"


def _dead_token_uses(ctx, run, label, grade=None, what="400"):
    s = run.step(label)
    if s is None:
        ctx.not_observed("step '%s' never ran (%s)" % (label, run.aborted or "flow stopped"), run)
        return None
    rejected = [r for r in refresh_requests(run, s) if _token_refused(r.entry)]
    if not rejected:
        # The client may have lost its refresh token earlier through another fault (judged by
        # that fault's check): then the first refresh token rejected anywhere stands in.
        rejected = [
            r for r in run.journal.refreshes if _token_refused(r.entry) and r.seq < s.seq_to
        ]
        if rejected:
            ctx.info(
                "step '%s' sent no refresh; judging the earlier rejected %s instead"
                % (label, run.journal.label(rejected[0].token)),
                run.name,
            )
    if not rejected:
        ctx.not_observed(
            "step '%s': no refresh got the %s the scenario arranges (reply %s)"
            % (label, what, s.reply.describe()),
            run,
        )
        return None
    first, dead = rejected[0].entry, rejected[0].token
    again = [r.entry for r in run.journal.refreshes if r.token == dead and r.seq > first["seq"]]
    if again:
        ctx.violation(
            "refresh token %s answered %s (%s), then sent %d more time(s): %s"
            % (
                run.journal.label(dead),
                what,
                where(run, first),
                len(again),
                ", ".join(where(run, e) for e in again),
            ),
            run.name,
            [first["seq"]] + [e["seq"] for e in again],
            grade=grade,
        )
    return s


@check(
    "refresh/invalid-grant-terminal",
    "400 invalid_grant on refresh: the token is dropped, the user logs in again",
    ["R43", "RFC6749-5.2", "2BA-token", "2BA-refresh", "2BA-intro"],
    ["refresh-dies"],
    ALL_FAIL,
)
def test_invalid_grant_terminal(ctx, run):
    """The dead refresh token is used once and never again (not on the next call, not after a
    restart); the client reports that the user must log in again."""
    s = _dead_token_uses(ctx, run, REFRESH_DEAD, what="400 invalid_grant")
    if s is not None and not s.reply.ok and s.reply.kind != "relogin_required":
        ctx.info(
            "after invalid_grant the client reported %s, not relogin_required" % s.reply.describe(),
            run.name,
        )
    if not ctx.findings:
        ctx.passed(
            "the dead refresh token was used once; the client reported %s"
            % (s.reply.kind or s.reply.status)
        )


@check(
    "refresh/bare-400-terminal",
    "A bare 400 or a non-standard error code on refresh is terminal too",
    ["R44", "RFC6749-5.2", "2BA-token"],
    ["bare-400"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "WARN"},
)
def test_bare_400(ctx, run):
    """2BA documents only "bad request": a 400 with no body must end the refresh token as
    invalid_grant does (FAIL in the 2ba profile); a 400 invalid_request likewise (WARN)."""
    a = _dead_token_uses(ctx, run, REFRESH_BARE_400, what="bare 400")
    b = _dead_token_uses(
        ctx, run, REFRESH_INVALID_REQUEST, grade=ALL_WARN, what="400 invalid_request"
    )
    if a and b and not ctx.findings:
        ctx.passed("each rejected refresh token was used once")


# --- H. errors, retries, backoff ------------------------------------------------------------------


def _retry_after_ms(e):
    v = header(e, "Retry-After", key="response_headers")
    if v is None:
        return None, None
    v = v.strip()
    if v.isdigit():
        return int(v) * 1000, "%s s" % v
    try:
        when = email.utils.parsedate_to_datetime(v).timestamp()
    except (TypeError, ValueError):
        return None, v
    # An HTTP date has 1 s resolution: allow for the fraction lost.
    return int(when * 1000) - (e.get("real_time_ms") or 0) - 1000, "date %s" % v


@check(
    "errors/retry-after",
    "503/429 on refresh: keep the tokens, honour Retry-After, bounded retries",
    ["R47", "RFC9110-10.2.3", "RFC6585-4"],
    ["retry-after"],
    ALL_WARN,
)
def test_retry_after(ctx, run):
    """A retry sooner than Retry-After (seconds or HTTP-date) → WARN; more than 4 attempts in
    one step → FAIL; a refresh token dropped after a 5xx/429 → WARN."""
    j = run.journal
    faulted = [e for e in j.token_requests() if e.get("fault") and e.get("status") in (429, 503)]
    if not faulted:
        ctx.not_observed("no refresh met the 503/429 the scenario arranges", run)
    for e in faulted:
        s = run.step_of(e)
        wait_ms, shown = _retry_after_ms(e)
        later = [r for r in refresh_requests(run, s) if r.seq > e["seq"]] if s else []
        if later:
            nxt = later[0].entry
            gap = (nxt.get("real_time_ms") or 0) - (e.get("real_time_ms") or 0)
            if wait_ms is not None and gap + 50 < wait_ms:
                ctx.violation(
                    "%s retried after %d ms; Retry-After was %s" % (where(run, nxt), gap, shown),
                    run.name,
                    [e["seq"], nxt["seq"]],
                )
            else:
                ctx.passed(
                    "%s retried after %d ms (Retry-After %s)" % (where(run, nxt), gap, shown),
                    run.name,
                )
            if later[0].token != form1(e, "refresh_token"):
                ctx.violation(
                    "%s retried with another refresh token" % where(run, nxt), run.name, nxt["seq"]
                )
        elif s is not None:
            ctx.info(
                "%s: the client did not retry by itself (reported %s)"
                % (s.label, s.reply.describe()),
                run.name,
                e["seq"],
            )
        if s and len(refresh_requests(run, s)) > 4:
            ctx.violation(
                "step '%s': %d attempts" % (s.label, len(refresh_requests(run, s))),
                run.name,
                grade=ALL_FAIL,
            )
    for label in (REFRESH_503_USER_RETRY, REFRESH_429_USER_RETRY):
        s = run.step(label)
        before = (
            next((b for b in reversed(run.steps[: s.n - 1]) if b.cmd != "control"), None)
            if s is not None
            else None
        )
        # A token dropped after a plain 400 is invalid_grant handling, judged elsewhere.
        got_400 = before is not None and any(r.status == 400 for r in refresh_requests(run, before))
        if s is not None and not got_400 and not refresh_requests(run, s):
            ctx.violation(
                "step '%s': no refresh (%s): the tokens were dropped after a 503/429"
                % (label, s.reply.describe()),
                run.name,
            )
        elif s is not None and refresh_requests(run, s):
            ctx.passed(
                "step '%s': the tokens were kept; the user's retry refreshed" % label, run.name
            )


@check(
    "errors/terminal-not-retried",
    "invalid_client, unauthorized_client, invalid_scope are not retried unchanged",
    ["R48", "RFC6749-5.2"],
    ["terminal-errors"],
    {"2ba": "FAIL", "rfc6749": "WARN", "bcp": "WARN"},
)
def test_terminal_not_retried(ctx, run):
    """A repeat of the identical request gets the same answer: one repeat → WARN, more than
    three (a tight loop) → FAIL in the 2ba profile."""
    for label in (REFRESH_INVALID_CLIENT, REFRESH_UNAUTHORIZED_CLIENT, REFRESH_INVALID_SCOPE):
        s = run.step(label)
        if s is None:
            ctx.not_observed("step '%s' never ran" % label, run)
            continue
        reqs = [e for e in run.entries_of(s) if e in run.journal.token_requests()]
        if not reqs:
            ctx.violation("step '%s': no refresh attempted" % label, run.name, grade=ALL_FAIL)
            continue
        seen = {}
        for e in reqs:
            # The request as the server reads it: a body re-encoded byte by byte is the same.
            form = (
                tuple(sorted((k, tuple(v)) for k, v in form_of(e).items()))
                if is_form(e)
                else e.get("body")
            )
            key = (form, header(e, "Authorization"))
            seen.setdefault(key, []).append(e)
        for es in seen.values():
            if len(es) > 4:
                ctx.violation(
                    "step '%s': the identical request sent %d times" % (label, len(es)),
                    run.name,
                    [e["seq"] for e in es],
                )
            elif len(es) > 1:
                ctx.warn(
                    "step '%s': the identical request sent %d times" % (label, len(es)),
                    run.name,
                    [e["seq"] for e in es],
                )
        if s.reply.ok:
            ctx.violation(
                "step '%s': the client reported success" % label, run.name, grade=ALL_FAIL
            )
    if not ctx.findings:
        ctx.passed("each terminal error was reported after one attempt")


# --- I. using the token -----------------------------------------------------------------------


def _body_token(e):
    """An access_token parameter in a form body (as the server parses it, not a substring)."""
    return is_form(e) and "access_token" in form_of(e)


@check(
    "api/token-in-header",
    "The access token travels in the Authorization header",
    ["R50", "RFC6750-2.1", "RFC6750-2.3", "RFC6750-5.3"],
    ["basic", "expiry"],
    {"2ba": "WARN", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_token_in_header(ctx, *runs):
    """`?access_token=` in the URL → WARN (FAIL in bcp); in a form body → INFO; no token at all
    → FAIL."""
    n = 0
    for r in runs:
        for e in r.journal.api_requests():
            n += 1
            if "access_token" in query_of(e):
                ctx.violation("%s access token in the query string" % where(r, e), r.name, e["seq"])
            if _body_token(e):
                ctx.info("%s access token in the request body" % where(r, e), r.name, e["seq"])
            if (
                not header(e, "Authorization")
                and "access_token" not in query_of(e)
                and not _body_token(e)
            ):
                ctx.violation(
                    "%s no access token sent" % where(r, e), r.name, e["seq"], grade=ALL_FAIL
                )
    if not n:
        ctx.not_observed("no API call observed", runs[0])
    elif not ctx.findings:
        ctx.passed("%d API calls with the token in the Authorization header" % n)


@check(
    "api/one-method",
    "Only one token-transmission method per request",
    ["R51", "RFC6750-2"],
    ["basic", "expiry"],
    ALL_FAIL,
)
def test_one_method(ctx, *runs):
    """Header and query (or body) together → FAIL."""
    n = 0
    for r in runs:
        for e in r.journal.api_requests():
            n += 1
            methods = [
                m
                for m, present in (
                    ("header", bool(header(e, "Authorization"))),
                    ("query", "access_token" in query_of(e)),
                    ("body", _body_token(e)),
                )
                if present
            ]
            if len(methods) > 1:
                ctx.violation(
                    "%s token sent by %s" % (where(r, e), " and ".join(methods)), r.name, e["seq"]
                )
    if not n:
        ctx.not_observed("no API call observed", runs[0])
    elif not ctx.findings:
        ctx.passed("%d API calls, one method each" % n)


# --- J. TLS -----------------------------------------------------------------------------------------


@check(
    "tls/verify-certificate",
    "The server certificate is verified: chain, host name, validity",
    ["R54", "RFC6749-10.9", "RFC6750-5.3"],
    ["tls-good", "tls-self-signed", "tls-wrong-host", "tls-expired"],
    ALL_FAIL,
)
def test_verify_certificate(ctx, good, self_signed, wrong_host, expired):
    """Against HTTPS mocks with a self-signed, a wrong-host and an expired certificate the
    handshake must fail and no HTTP request may arrive. The control — a valid certificate from
    the test CA the client was given — must work, or the check cannot conclude."""
    s = good.step(LOGIN)
    if good.journal.token_requests() and (s is None or not s.reply.ok):
        raise Blocked(
            "the control login over HTTPS reached the mock and failed — blocked: %s"
            % (good.root_cause() or (s.reply.describe() if s else "no login step"))
        )
    if not good.journal.token_requests():
        ctx.skip(
            "the control failed: the client could not log in over HTTPS with the test CA (%s)"
            % (s.reply.describe() if s else "-")
        )
    for run, what in (
        (self_signed, "self-signed"),
        (wrong_host, "wrong host name"),
        (expired, "expired"),
    ):
        reqs = run.journal.entries
        if reqs:
            creds = [
                e for e in reqs if "password" in (e.get("body") or "") or header(e, "Authorization")
            ]
            ctx.violation(
                "%s certificate accepted: %d request(s) arrived%s"
                % (what, len(reqs), ", credentials included" if creds else ""),
                run.name,
                [e["seq"] for e in reqs],
            )
        else:
            s = run.step(LOGIN)
            ctx.passed(
                "%s certificate: no request arrived; client reported %s"
                % (what, (s.reply.kind or s.reply.status) if s else "-"),
                run.name,
            )
