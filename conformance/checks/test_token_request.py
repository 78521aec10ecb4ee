"""Shape of the token-endpoint request, client authentication and the password grant
(catalog sections A, B and C)."""

import urllib.parse

from kit.catalog import Blocked, Verdict, check
from kit.evidence import (
    RawChar,
    basic_credentials,
    client_auth_methods,
    describe_mangling,
    flows_present,
    form1,
    form_of,
    header,
    is_form,
    raw_chars,
    shown_chars,
    where,
)

ALL_FAIL = {"2ba": "FAIL", "rfc6749": "FAIL", "bcp": "FAIL"}
ALL_WARN = {"2ba": "WARN", "rfc6749": "WARN", "bcp": "WARN"}

# How a character left raw in a token request body is graded, and why (RawChar says how
# parsers read each class). A wrong decoded value FAILs on its own; these judge the bytes of a
# body whose values may all have arrived intact.
RAW_FORM_GRADES = {
    RawChar.NO_MEANING: (
        {"2ba": "PASS", "rfc6749": "INFO", "bcp": "PASS"},
        "read as themselves by every form parser; HTML 4.01, which RFC 6749 "
        "Appendix B cites, would escape them",
    ),
    RawChar.SEMICOLON: (ALL_WARN, "Python's parse_qsl before 3.9.2 and Rack split there"),
    RawChar.SPACE_OR_CONTROL: (
        ALL_WARN,
        "outside the form syntax (a space is written '+'); "
        "parsers happen to read them as themselves",
    ),
    RawChar.NON_ASCII: (
        ALL_WARN,
        "RFC 6749 Appendix B percent-encodes the UTF-8 octets; raw "
        "octets are read right only by a server that decodes the body as UTF-8",
    ),
    RawChar.BAD_PERCENT: (
        ALL_FAIL,
        "the request is malformed: the mock refuses it, Java's " "URLDecoder throws",
    ),
}
CODE_GRANT = "authorization_code"


# The WHATWG Encoding Standard's labels of UTF-8 (what servers resolve a charset name with).
UTF8_LABELS = {
    "utf-8",
    "utf8",
    "unicode-1-1-utf-8",
    "unicode11utf8",
    "unicode20utf8",
    "x-unicode20utf8",
}


def _charset(content_type):
    """The charset parameter of a Content-Type, unquoted and lower-cased, or None."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip().lower()
    return None


def _token_requests(*runs):
    for r in flows_present(*runs):
        for e in r.journal.token_requests():
            yield r, e


def _form_requests(*runs):
    """Token requests whose body is a form; BLOCKED when there were requests but none was a
    form (token-request/form-encoded judges that)."""
    all_reqs = list(_token_requests(*runs))
    forms = [(r, e) for r, e in all_reqs if is_form(e)]
    if all_reqs and not forms:
        raise Blocked(
            "no token request body is a form — blocked: judged by token-request/form-encoded"
        )
    return forms


@check(
    "token-request/post",
    "Token requests use POST",
    ["R01", "RFC6749-3.2", "2BA-token"],
    ["basic", "code?"],
    ALL_FAIL,
)
def test_post(ctx, basic, code):
    """Every request to /OAuth/Token uses HTTP POST ("This is a POST request!")."""
    n = 0
    for r, e in _token_requests(basic, code):
        n += 1
        if e.get("method") != "POST":
            ctx.violation(
                "%s %s sent with %s" % (where(r, e), e.get("path"), e.get("method")),
                r.name,
                e["seq"],
            )
    if not n:
        ctx.not_observed("the client made no token request at all", basic)
    else:
        ctx.passed("%d token requests observed" % n)


@check(
    "token-request/form-encoded",
    "Token request body is application/x-www-form-urlencoded",
    ["R02", "RFC6749-4.3.2", "RFC6749-6", "RFC6749-App.B"],
    ["basic", "code?"],
    ALL_FAIL,
)
def test_form_content_type(ctx, basic, code):
    """Content-Type application/x-www-form-urlencoded (charset, if given, UTF-8 by any of its
    WHATWG labels: `utf8` and a quoted `"UTF-8"` mean the same) and a body that parses as a
    form — not JSON, not multipart."""
    n = 0
    for r, e in _token_requests(basic, code):
        n += 1
        ct = (header(e, "Content-Type") or "").lower()
        media = ct.split(";")[0].strip()
        if media != "application/x-www-form-urlencoded":
            ctx.violation("%s Content-Type is %r" % (where(r, e), ct or "(none)"), r.name, e["seq"])
            continue
        charset = _charset(ct)
        if charset is not None and charset not in UTF8_LABELS:
            ctx.violation("%s declares charset %r, not UTF-8" % (where(r, e), ct), r.name, e["seq"])
        body = e.get("body") or ""
        if body.lstrip().startswith(("{", "[", "--")):
            ctx.violation(
                "%s body is not a form (starts %r)" % (where(r, e), body[:1]), r.name, e["seq"]
            )
        elif not form_of(e).get("grant_type"):
            ctx.violation(
                "%s body does not parse as a form with grant_type" % where(r, e), r.name, e["seq"]
            )
    if not n:
        ctx.not_observed("no token request observed", basic)
    else:
        ctx.passed("%d token requests checked" % n)


@check(
    "token-request/form-values",
    "Every form value is correctly encoded (+ & = % / é €)",
    ["R03", "RFC6749-App.B", "2BA-ropc"],
    ["hostile-credentials"],
    ALL_FAIL,
)
def test_form_values(ctx, run):
    """With a username and password full of `+ & = % / é €`, a client secret of every special
    character RFC 6749 Appendix A allows in a secret (printable ASCII), and refresh tokens full
    of `+ / =`, the server must decode exactly the values the client holds: a raw `+` read as a
    space, a raw `&` or `=` that splits a value, a raw `%`, octets in another charset FAIL.
    What form parsers read alike is judged by its bytes only where parsers differ: characters
    with no meaning in a form (`! ' ( ) ~ / :` …, Node's querystring leaves `! ' ( ) * ~` raw)
    pass, INFO in the rfc6749 profile (HTML 4.01, which Appendix B cites, escapes them); a raw
    `;` (older parsers split there), space, control or non-ASCII octet is WARN; a `%` that
    starts no `%HH` FAILs."""
    expected = {"username": run.username, "password": run.password, "client_id": run.client_id}
    if run.client_secret:
        expected["client_secret"] = run.client_secret
    logins = run.journal.grants("password")
    if not logins:
        ctx.not_observed("no password grant observed", run)
    for e in logins:
        for key, want in expected.items():
            got = form1(e, key)
            if (
                key in ("client_id", "client_secret")
                and got is None
                and basic_credentials(e) is not None
            ):
                user, pw = basic_credentials(e)
                got = urllib.parse.unquote_plus(user if key == "client_id" else pw)
            m = describe_mangling(want, got)
            if m != "exact":
                ctx.violation("%s %s: %s" % (where(run, e), key, m), run.name, e["seq"])
        for kind, chars in raw_chars(e.get("body") or "").items():
            grade, why = RAW_FORM_GRADES[kind]
            ctx.violation(
                "%s raw body leaves %s unencoded (%s: %s)"
                % (where(run, e), shown_chars(chars), kind.value, why),
                run.name,
                e["seq"],
                grade=grade,
            )
    issued = {v for _, k, v, _ in run.journal.issued if k == "refresh_token"}
    for r in run.journal.refreshes:
        rt = r.token
        if rt not in issued:
            best = max(
                issued,
                key=lambda t: len(t) if t.replace("+", " ") == rt or t.startswith(rt or "") else -1,
                default=None,
            )
            ctx.violation(
                "%s refresh_token: %s" % (where(run, r.entry), describe_mangling(best or "", rt)),
                run.name,
                r.seq,
            )
    if not run.journal.refreshes:
        ctx.not_observed("no refresh request observed", run)
    if ctx.worst() == Verdict.PASS:
        ctx.passed(
            "username, password, client secret and %d refresh token(s) arrived intact"
            % len(run.journal.refreshes)
        )


@check(
    "token-request/no-query-credentials",
    "No credentials or tokens in the token URL's query",
    ["R04", "RFC6749-2.3.1", "RFC6750-5.3"],
    ["basic", "code?"],
    ALL_FAIL,
)
def test_no_query_credentials(ctx, basic, code):
    """client_secret or password in the query → FAIL; other grant parameters → WARN (URLs end
    up in logs)."""
    n = 0
    for r, e in _token_requests(basic, code):
        n += 1
        q = (
            urllib.parse.parse_qs(e.get("query") or "", keep_blank_values=True)
            if isinstance(e.get("query"), str)
            else (e.get("query") or {})
        )
        for key in q:
            if key in ("client_secret", "password"):
                ctx.violation(
                    "%s carries %s in the query string" % (where(r, e), key), r.name, e["seq"]
                )
            elif key in (
                "refresh_token",
                "code",
                "code_verifier",
                "username",
                "client_id",
                "grant_type",
                "redirect_uri",
            ):
                ctx.warn("%s carries %s in the query string" % (where(r, e), key), r.name, e["seq"])
    if n:
        ctx.passed("%d token requests without credentials in the query" % n)
    else:
        ctx.not_observed("no token request observed", basic)


@check(
    "token-request/no-duplicates",
    "No parameter appears twice",
    ["R05", "RFC6749-3.1", "RFC6749-3.2"],
    ["basic", "code?"],
    ALL_FAIL,
)
def test_no_duplicates(ctx, basic, code):
    """A repeated parameter → FAIL; an empty-valued one (the server treats it as absent) → INFO."""
    n = 0
    for r, e in _form_requests(basic, code):
        n += 1
        for key, vals in form_of(e).items():
            if len(vals) > 1:
                ctx.violation(
                    "%s sends %s %d times" % (where(r, e), key, len(vals)), r.name, e["seq"]
                )
            elif vals == [""]:
                ctx.info("%s sends %s with an empty value" % (where(r, e), key), r.name, e["seq"])
    if n:
        ctx.passed("%d token requests parsed with duplicates kept" % n)
    else:
        ctx.not_observed("no token request observed", basic)


@check(
    "token-request/grant-type",
    "grant_type present and supported",
    ["R06", "RFC6749-4.3.2", "RFC6749-6", "2BA-token"],
    ["basic", "code?"],
    ALL_FAIL,
)
def test_grant_type(ctx, basic, code):
    """grant_type is one of password, refresh_token, authorization_code."""
    n = 0
    for r, e in _form_requests(basic, code):
        n += 1
        gt = form1(e, "grant_type")
        if gt is None:
            ctx.violation("%s has no grant_type" % where(r, e), r.name, e["seq"])
        elif gt not in ("password", "refresh_token", CODE_GRANT):
            ctx.violation(
                "%s grant_type=%r is not one 2BA supports" % (where(r, e), gt), r.name, e["seq"]
            )
    if n:
        ctx.passed("%d token requests with a supported grant_type" % n)
    else:
        ctx.not_observed("no token request observed", basic)


@check(
    "client-auth/one-method",
    "At most one client-authentication method per request",
    ["R07", "RFC6749-2.3"],
    ["basic", "basic-auth?"],
    ALL_FAIL,
)
def test_one_method(ctx, basic, basic_auth):
    """Never an Authorization: Basic header and a client_secret in the body together."""
    for r, e in _form_requests(basic, basic_auth):
        if len(client_auth_methods(e)) > 1:
            ctx.violation(
                "%s authenticates with Basic and with client_secret in the body" % where(r, e),
                r.name,
                e["seq"],
            )
    if not ctx.findings:
        ctx.passed("one method per request")


@check(
    "client-auth/basic-encoding",
    "HTTP Basic credentials are form-encoded before base64",
    ["R08", "RFC6749-2.3.1", "RFC6749-App.B"],
    ["basic-auth"],
    {"2ba": "INFO", "rfc6749": "FAIL", "bcp": "WARN"},
)
def test_basic_encoding(ctx, run):
    """With a secret holding `+ / = % :`, the Basic header must carry
    base64(urlencode(id):urlencode(secret)). The raw form is what many servers expect (2BA
    documents body credentials), so it is INFO in the 2ba profile; anything else FAILs."""
    seen = 0
    for e in run.journal.token_requests():
        cred = basic_credentials(e)
        if cred is None:
            continue
        seen += 1
        user, pw = cred
        if (
            urllib.parse.unquote_plus(user) == run.client_id
            and urllib.parse.unquote_plus(pw) == run.client_secret
            and pw != run.client_secret
        ):
            ctx.passed(
                "%s form-encoded credentials (RFC 6749 §2.3.1)" % where(run, e), run.name, e["seq"]
            )
        elif user == run.client_id and pw == run.client_secret:
            ctx.violation(
                "%s raw (not form-encoded) credentials in the Basic header" % where(run, e),
                run.name,
                e["seq"],
            )
        else:
            ctx.violation(
                "%s Basic credentials match the client in neither form: secret %s"
                % (where(run, e), describe_mangling(run.client_secret, pw)),
                run.name,
                e["seq"],
                grade=ALL_FAIL,
            )
    if not seen:
        ctx.skip("the client was asked for HTTP Basic but sent none (body credentials only)")


@check(
    "client-auth/body-credentials",
    "Client credentials where the client was asked to put them",
    ["R09", "RFC6749-2.3.1", "2BA-token"],
    ["basic", "basic-auth?"],
    {"2ba": "INFO", "rfc6749": "INFO", "bcp": "INFO"},
)
def test_body_credentials(ctx, basic, basic_auth):
    """Asked for body credentials (2BA's documented way), the client sends client_id and
    client_secret in the form; asked for HTTP Basic, it uses Basic — the body method is NOT
    RECOMMENDED by RFC 6749, so falling back to it is INFO there. Either departure is INFO; a
    client_secret without its client_id is malformed everywhere → FAIL. The kit's own choice of
    body credentials is not held against the client."""
    body = 0
    for r, e in (
        (r, e) for r in flows_present(basic, basic_auth) for e in r.journal.token_requests()
    ):
        m = client_auth_methods(e)
        if "body" in m:
            body += 1
            if not form1(e, "client_id"):
                ctx.violation(
                    "%s client_secret in the body without client_id" % where(r, e),
                    r.name,
                    e["seq"],
                    grade=ALL_FAIL,
                )
        if r is basic and m == ["basic"]:
            ctx.violation(
                "%s uses HTTP Basic although asked for body credentials (2BA documents the body)"
                % where(r, e),
                r.name,
                e["seq"],
            )
        if r is basic_auth and m == ["body"]:
            ctx.violation(
                "%s puts the credentials in the body although asked for HTTP Basic "
                "(RFC 6749: NOT RECOMMENDED)" % where(r, e),
                r.name,
                e["seq"],
                grade={"2ba": "PASS", "rfc6749": "INFO", "bcp": "INFO"},
            )
    if not ctx.findings:
        ctx.passed("client credentials where asked (%d request(s) with body credentials)" % body)


@check(
    "client-auth/every-request",
    "A confidential client authenticates on every token request",
    ["R10", "RFC6749-6", "RFC6749-4.3.2", "2BA-token"],
    ["basic", "restart"],
    ALL_FAIL,
)
def test_every_request(ctx, basic, restart):
    """Refreshes included: each token request carries Basic or client_secret."""
    n = 0
    for r, e in _form_requests(basic, restart):
        n += 1
        if not client_auth_methods(e):
            ctx.violation(
                "%s (%s) carries no client authentication" % (where(r, e), form1(e, "grant_type")),
                r.name,
                e["seq"],
            )
    if n and not ctx.findings:
        ctx.passed("%d token requests, each authenticated" % n)
    elif not n:
        ctx.not_observed("no token request observed", basic)


@check(
    "client-auth/client-id-matches",
    "client_id in the body matches the authenticated client",
    ["R11", "RFC6749-3.2.1"],
    ["basic", "basic-auth?"],
    ALL_FAIL,
)
def test_client_id_matches(ctx, basic, basic_auth):
    """If client_id is in the body it names the client that authenticates."""
    for r, e in _form_requests(basic, basic_auth):
        cid = form1(e, "client_id")
        cred = basic_credentials(e)
        if cred is not None and cid is not None and urllib.parse.unquote_plus(cred[0]) != cid:
            ctx.violation(
                "%s body client_id %r but Basic user %r" % (where(r, e), cid, cred[0]),
                r.name,
                e["seq"],
            )
        elif cid is not None and cid != r.client_id:
            ctx.violation(
                "%s client_id %r, configured %r" % (where(r, e), cid, r.client_id), r.name, e["seq"]
            )
    if not ctx.findings:
        ctx.passed("client_id consistent")


@check(
    "password-grant/parameters",
    "Password grant sends username and password",
    ["R12", "RFC6749-4.3.2", "2BA-ropc"],
    ["basic"],
    ALL_FAIL,
)
def test_password_params(ctx, run):
    """username and password present and non-empty; scope optional."""
    logins = run.journal.grants("password")
    for e in logins:
        for key in ("username", "password"):
            if not form1(e, key):
                ctx.violation("%s %s missing or empty" % (where(run, e), key), run.name, e["seq"])
    if not logins:
        ctx.not_observed("no password grant observed after login_password", run)
    elif not ctx.findings:
        ctx.passed("%d password grant(s) with username and password" % len(logins))


@check(
    "password-grant/discard-password",
    "The client discards the password once it has tokens",
    ["R13", "RFC6749-4.3.1"],
    ["refresh-dies", "bare-400", "basic", "restart"],
    ALL_FAIL,
)
def test_discard_password(ctx, *runs):
    """Every password grant must follow credentials the user typed in that step (the adapter
    reports them). A password grant the user did not start — typically a silent re-login after
    an invalid_grant — means the password was stored."""
    total = 0
    for r in runs:
        for s in r.steps:
            grants = [e for e in r.entries_of(s) if form1(e, "grant_type") == "password"]
            total += len(grants)
            for i, e in enumerate(grants):
                if i >= s.typed:
                    ctx.violation(
                        "%s password grant in step '%s' without the user typing credentials"
                        % (where(r, e), s.label),
                        r.name,
                        e["seq"],
                    )
    if total and not ctx.findings:
        ctx.passed("%d password grant(s), each right after the user typed credentials" % total)
    elif not total:
        ctx.not_observed("no password grant observed at all", runs[0])
