"""Authorization request and response handling in the code flow (catalog sections D and E)."""

import re
import urllib.parse

from kit.catalog import check
from kit.evidence import (
    QUERY_ALLOWED,
    UNRESERVED,
    RawChar,
    authorize_urls,
    entropy_bits,
    flows_present,
    form1,
    is_loopback_literal,
    raw_chars,
    redirect_registered,
    s256,
    shown_chars,
    where,
)

ALL_FAIL = {"2ba": "FAIL", "rfc6749": "FAIL", "bcp": "FAIL"}
ALL_WARN = {"2ba": "WARN", "rfc6749": "WARN", "bcp": "WARN"}
ALL_INFO = {"2ba": "INFO", "rfc6749": "INFO", "bcp": "INFO"}
ALL_PASS = {"2ba": "PASS", "rfc6749": "PASS", "bcp": "PASS"}

# How a character left raw in the authorization URL's query is graded: the user's browser
# sends the URL, percent-encoding what RFC 3986 does not allow, and the server form-decodes the
# query (RawChar says how parsers read each class).
RAW_QUERY_GRADES = {
    RawChar.SEMICOLON: (ALL_WARN, "Python's parse_qsl before 3.9.2 and Rack split there"),
    RawChar.SPACE_OR_CONTROL: (
        ALL_WARN,
        "not valid in a URI: browsers encode a space, a launcher " "or log may cut the URL there",
    ),
    RawChar.NON_ASCII: (ALL_INFO, "browsers send it as percent-encoded UTF-8"),
    RawChar.BAD_PERCENT: (ALL_FAIL, "a malformed escape: parsers refuse it or keep it as is"),
}
CODE_FLOWS = [
    "code",
    "code-wrong-state?",
    "code-missing-state?",
    "code-denied?",
    "code-pkce-rejected?",
]


def _urls(*runs):
    out = []
    for r in flows_present(*runs):
        out += [(r,) + u for u in authorize_urls(r)]
    return out


def _code_requests(run, step=None):
    return [
        e
        for e in run.journal.grants("authorization_code")
        if step is None or step.seq_from <= e["seq"] < step.seq_to
    ]


@check(
    "authorize/request",
    "Authorization request: response_type=code, client_id, redirect_uri, encoding",
    ["R15", "RFC6749-4.1.1", "RFC6749-3.1", "2BA-code"],
    CODE_FLOWS,
    ALL_FAIL,
)
def test_authorize_request(ctx, *runs):
    """The URL the client opens has response_type=code, its client_id, a redirect_uri (2BA
    requires it), each parameter once, and no client secret. Its query is judged by what a
    server reads: characters RFC 3986 allows raw in a query (`/ : @ ? ! ' ( ) *` …) pass; others
    the browser percent-encodes (INFO); a raw `;` (older parsers split there), space or control
    character is WARN; a `%` that starts no `%HH` FAILs."""
    urls = _urls(*runs)
    for r, s, url, q in urls:
        parts = urllib.parse.urlsplit(url)
        want = urllib.parse.urlsplit(r.config()["authorize_url"])
        if (parts.scheme, parts.netloc, parts.path.lower()) != (
            want.scheme,
            want.netloc,
            want.path.lower(),
        ):
            ctx.violation(
                "step '%s' opens %s://%s%s, not the authorize endpoint"
                % (s.label, parts.scheme, parts.netloc, parts.path),
                r.name,
            )
        for key, val in (("response_type", "code"), ("client_id", r.client_id)):
            if q.get(key) != [val]:
                ctx.violation(
                    "step '%s': %s=%r, expected %r" % (s.label, key, q.get(key), val), r.name
                )
        if not q.get("redirect_uri"):
            ctx.violation("step '%s': no redirect_uri (2BA requires it)" % s.label, r.name)
        for key, vals in q.items():
            if len(vals) > 1:
                ctx.violation("step '%s': %s appears %d times" % (s.label, key, len(vals)), r.name)
        if "client_secret" in q:
            ctx.violation("step '%s': client_secret in the authorization URL" % s.label, r.name)
        for kind, chars in raw_chars(parts.query).items():
            if kind == RawChar.NO_MEANING:
                allowed = "".join(c for c in chars if c in QUERY_ALLOWED)
                if allowed:
                    ctx.violation(
                        "step '%s': query leaves %s raw (RFC 3986 allows them in a query; "
                        "form parsers read them as themselves)" % (s.label, shown_chars(allowed)),
                        r.name,
                        grade=ALL_PASS,
                    )
                chars = "".join(c for c in chars if c not in QUERY_ALLOWED)
                grade, why = ALL_INFO, "not valid in a URI; browsers percent-encode them"
                if not chars:
                    continue
            else:
                grade, why = RAW_QUERY_GRADES[kind]
            ctx.violation(
                "step '%s': query leaves %s raw (%s: %s)"
                % (s.label, shown_chars(chars), kind.value, why),
                r.name,
                grade=grade,
            )
    if not urls:
        ctx.not_observed("the client produced no authorization URL", runs[0])
    elif all(f.level == "PASS" for f in ctx.findings):
        ctx.passed("%d authorization URL(s) well formed" % len(urls))


@check(
    "authorize/state",
    "An unguessable state, fresh for each authorization request",
    ["R16", "RFC6749-10.12", "RFC9700-2.1", "RFC8252-8.9"],
    CODE_FLOWS,
    {"2ba": "WARN", "rfc6749": "WARN", "bcp": "FAIL"},
)
def test_state(ctx, *runs):
    """state present, about 64 bits of entropy or more, never reused; longer than 128
    characters is an interop risk (INFO). 2BA's samples send none, hence WARN in the 2ba
    profile."""
    seen = {}
    urls = _urls(*runs)
    for r, s, url, q in urls:
        st = (q.get("state") or [None])[0]
        if not st:
            pkce = (q.get("code_challenge_method") or [""])[0] == "S256"
            ctx.violation(
                "step '%s': no state%s" % (s.label, " (PKCE S256 is used)" if pkce else ""),
                r.name,
                grade={"2ba": "WARN", "rfc6749": "WARN", "bcp": "WARN" if pkce else "FAIL"},
            )
            continue
        bits = entropy_bits(st)
        if bits < 64:
            ctx.violation(
                "step '%s': state of %d characters carries about %.0f bits"
                % (s.label, len(st), bits),
                r.name,
            )
        if len(st) > 128:
            ctx.info("step '%s': state longer than 128 characters" % s.label, r.name)
        if st in seen:
            ctx.violation("step '%s' reuses the state of step '%s'" % (s.label, seen[st]), r.name)
        seen[st] = s.label
    if not urls:
        ctx.not_observed("the client produced no authorization URL", runs[0])
    elif not ctx.findings:
        ctx.passed("%d distinct states, each ≥ 64 bits" % len(seen))


@check(
    "authorize/pkce-s256",
    "PKCE with S256",
    ["R17", "RFC7636-4.2", "RFC7636-4.3", "RFC9700-2.1.1"],
    CODE_FLOWS,
    {"2ba": "INFO", "rfc6749": "INFO", "bcp": "WARN"},
)
def test_pkce(ctx, *runs):
    """code_challenge with code_challenge_method=S256. 2BA does not document PKCE (INFO); the BCP
    recommends it for confidential clients (WARN). A malformed S256 challenge FAILs."""
    urls = _urls(*runs)
    for r, s, url, q in urls:
        ch = (q.get("code_challenge") or [None])[0]
        method = (q.get("code_challenge_method") or ["plain" if ch else None])[0]
        if not ch:
            ctx.violation("step '%s': no PKCE code_challenge" % s.label, r.name)
        elif method != "S256":
            ctx.violation("step '%s': code_challenge_method=%s" % (s.label, method), r.name)
        elif not re.fullmatch(r"[A-Za-z0-9_-]{43}", ch):
            ctx.violation(
                "step '%s': S256 challenge is not 43 base64url characters" % s.label,
                r.name,
                grade=ALL_FAIL,
            )
    if not urls:
        ctx.not_observed("the client produced no authorization URL", runs[0])
    elif not ctx.findings:
        ctx.passed("S256 in all %d authorization URL(s)" % len(urls))


@check(
    "token-request/pkce-verifier",
    "PKCE verifier: syntax, match, freshness, entropy",
    ["R18", "RFC7636-4.1", "RFC7636-4.6", "RFC7636-7.1"],
    ["code"],
    ALL_FAIL,
)
def test_verifier(ctx, run):
    """At the token step: 43–128 unreserved characters, S256(verifier) equals the challenge,
    a new verifier per flow; about 256 bits of entropy (WARN below 128)."""
    pairs = []
    for s in run.steps:
        if not s.browser or not s.browser.authorize_urls:
            continue
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(s.browser.authorize_urls[-1]).query)
        ch = (q.get("code_challenge") or [None])[0]
        method = (q.get("code_challenge_method") or ["plain"])[0]
        for e in _code_requests(run, s):
            pairs.append((s, e, ch, method, form1(e, "code_verifier")))
    challenged = [
        u
        for s in run.steps
        if s.browser
        for u in s.browser.authorize_urls
        if urllib.parse.parse_qs(urllib.parse.urlsplit(u).query).get("code_challenge")
    ]
    if (
        run.steps
        and not challenged
        and any(s.browser and s.browser.authorize_urls for s in run.steps)
    ):
        ctx.skip("the client does not use PKCE (see authorize/pkce-s256)")
    seen = {}
    for s, e, ch, method, v in pairs:
        if not ch:
            continue
        if not v:
            ctx.violation(
                "%s no code_verifier although the request had a challenge" % where(run, e),
                run.name,
                e["seq"],
            )
            continue
        if not (43 <= len(v) <= 128) or set(v) - UNRESERVED:
            ctx.violation(
                "%s verifier of %d characters, outside 43–128 unreserved" % (where(run, e), len(v)),
                run.name,
                e["seq"],
            )
        if (s256(v) if method == "S256" else v) != ch:
            ctx.violation(
                "%s verifier does not match the challenge (%s)" % (where(run, e), method),
                run.name,
                e["seq"],
            )
        if v in seen:
            ctx.violation(
                "%s reuses the verifier of step '%s'" % (where(run, e), seen[v]), run.name, e["seq"]
            )
        seen[v] = s.label
        if entropy_bits(v) < 128:
            ctx.warn(
                "%s verifier carries about %.0f bits" % (where(run, e), entropy_bits(v)),
                run.name,
                e["seq"],
            )
    if not pairs:
        ctx.not_observed("no code exchange observed", run)
    elif not ctx.findings:
        ctx.passed("%d verifier(s), well formed, matching and fresh" % len(seen))


@check(
    "authorize/no-plain-downgrade",
    "No fallback to plain after S256 was refused",
    ["R19", "RFC7636-7.2"],
    ["code-pkce-rejected"],
    ALL_FAIL,
)
def test_no_downgrade(ctx, run):
    """The first request is answered error=invalid_request; the next one must still use S256."""
    urls = authorize_urls(run)
    if not urls or (urls[0][2].get("code_challenge_method") or [None])[0] != "S256":
        ctx.skip("the client does not start with PKCE S256")
    later = urls[1:]
    for s, url, q in later:
        method = (q.get("code_challenge_method") or [None])[0]
        if not q.get("code_challenge"):
            ctx.violation("step '%s' drops PKCE after the refusal" % s.label, run.name)
        elif method != "S256":
            ctx.violation(
                "step '%s' falls back to code_challenge_method=%s" % (s.label, method or "plain"),
                run.name,
            )
    if not later:
        ctx.not_observed("no second authorization request observed", run)
    elif not ctx.findings:
        ctx.passed("S256 kept in %d later request(s)" % len(later))


@check(
    "authorize/redirect-uri",
    "redirect_uri is registered; loopback by IP literal",
    ["R20", "RFC9700-2.1", "RFC8252-7.3", "RFC8252-8.3", "2BA-code"],
    CODE_FLOWS,
    ALL_FAIL,
)
def test_redirect_uri(ctx, *runs):
    """Exact match with a registered URI (any port on loopback); `localhost` works with 2BA but
    RFC 8252 prefers 127.0.0.1 or [::1] (INFO in 2ba, WARN in bcp)."""
    urls = _urls(*runs)
    for r, s, url, q in urls:
        ru = (q.get("redirect_uri") or [None])[0]
        if not ru:
            continue  # authorize/request reports it
        client = next(c for c in r.fixture["clients"] if c["client_id"] == r.client_id)
        if not redirect_registered(ru, client.get("redirect_uris", []), r.base):
            ctx.violation(
                "step '%s': redirect_uri %s is not registered for %s" % (s.label, ru, r.client_id),
                r.name,
            )
        host = urllib.parse.urlsplit(ru).hostname or ""
        if host == "localhost":
            ctx.violation(
                "step '%s': loopback redirect by name 'localhost'" % s.label,
                r.name,
                grade={"2ba": "INFO", "rfc6749": "INFO", "bcp": "WARN"},
            )
        elif urllib.parse.urlsplit(ru).scheme == "http" and not is_loopback_literal(host):
            ctx.violation("step '%s': plain-http redirect to a non-loopback host" % s.label, r.name)
    if not urls:
        ctx.not_observed("the client produced no authorization URL", runs[0])
    elif not ctx.findings:
        ctx.passed("registered loopback redirect URI(s)")


def _expect_no_exchange(ctx, run, what):
    """After a forged, stateless or error redirect nothing may reach the token endpoint —
    whatever grant type the client chose (a client_credentials or password post is as wrong as a
    code exchange)."""
    s = next((x for x in reversed(run.steps) if x.cmd == "login_code"), None)
    urls = authorize_urls(run)
    if urls and not urls[0][2].get("state") and what != "error":
        ctx.skip("the client sends no state (see authorize/state)")
    after = [e for e in run.journal.token_requests() if s is None or e["seq"] >= s.seq_from]
    for e in after:
        ctx.violation(
            "%s token request (grant_type=%s) after a redirect with %s"
            % (where(run, e), form1(e, "grant_type"), what),
            run.name,
            e["seq"],
        )
    if s is not None and s.reply is not None:
        if s.reply.ok:
            ctx.violation("the client reported success after a redirect with %s" % what, run.name)
        elif s.reply.abandoned:
            ctx.info("the client kept waiting (no reply within the expect-nothing wait)", run.name)
    if not urls:
        ctx.not_observed("the client produced no authorization URL", run)
    elif not after and not ctx.findings:
        ctx.passed("no token request; the client reported %s" % s.reply.describe())


@check(
    "code-response/state-checked",
    "A wrong or missing state stops the flow",
    ["R22", "RFC6749-10.12", "RFC9700-4.7.1"],
    ["code-wrong-state", "code-missing-state"],
    ALL_FAIL,
)
def test_state_checked(ctx, wrong, missing):
    """Expect nothing: after a redirect whose state is forged or absent, no token request."""
    _expect_no_exchange(ctx, wrong, "a forged state")
    _expect_no_exchange(ctx, missing, "no state")


@check(
    "code-response/error-handled",
    "An error redirect (access_denied) makes no token call",
    ["R23", "RFC6749-4.1.2.1"],
    ["code-denied"],
    ALL_FAIL,
)
def test_error_handled(ctx, run):
    """The user presses Cancel: no token request, and the adapter reports an error."""
    _expect_no_exchange(ctx, run, "error")


@check(
    "token-request/redirect-uri-identical",
    "The code exchange repeats the authorization redirect_uri",
    ["R24", "RFC6749-4.1.3"],
    ["code"],
    ALL_FAIL,
)
def test_redirect_identical(ctx, run):
    """redirect_uri in the token request is character-for-character the one sent to
    /OAuth/Authorize."""
    n = 0
    for s in run.steps:
        if not s.browser or not s.browser.authorize_urls:
            continue
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(s.browser.authorize_urls[-1]).query)
        sent = (q.get("redirect_uri") or [None])[0]
        for e in _code_requests(run, s):
            n += 1
            got = form1(e, "redirect_uri")
            if sent and got != sent:
                ctx.violation(
                    "%s redirect_uri %r differs from %r" % (where(run, e), got, sent),
                    run.name,
                    e["seq"],
                )
    if not n:
        ctx.not_observed("no code exchange observed", run)
    elif not ctx.findings:
        ctx.passed("%d code exchange(s) with the identical redirect_uri" % n)


@check(
    "token-request/code-once",
    "Each authorization code is redeemed at most once",
    ["R25", "RFC6749-4.1.2", "RFC6749-10.5"],
    ["code", "code-lost-reply"],
    ALL_FAIL,
)
def test_code_once(ctx, code, lost):
    """Also when the exchange's reply was lost after the server redeemed the code."""
    count = {}
    for r in (code, lost):
        for e in r.journal.grants("authorization_code"):
            c = form1(e, "code")
            count.setdefault(c, []).append((r, e))
    for c, uses in count.items():
        if len(uses) > 1:
            r, e = uses[1]
            ctx.violation(
                "code %s redeemed %d times (%s)"
                % (r.journal.label(c), len(uses), ", ".join(where(r2, e2) for r2, e2 in uses)),
                r.name,
                [e2["seq"] for _, e2 in uses],
            )
    if not count:
        ctx.not_observed("no code exchange observed", code)
    elif not ctx.findings:
        ctx.passed("%d code(s), each redeemed once" % len(count))
