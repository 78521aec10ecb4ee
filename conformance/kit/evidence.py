"""Helpers the checks share to read evidence: which requests, which methods, how values were mangled."""

import base64
import enum
import hashlib
import math
import string
import urllib.parse

from .journal import Refresh, basic_credentials, bearer_token, form1, form_of, header, query_of

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What RFC 3986 allows raw in a query besides the unreserved characters and `%HH`.
QUERY_ALLOWED = set("!$&'()*+,;=:@/?")


class RawChar(enum.Enum):
    """A character left raw in a form-encoded body or query, by how form parsers read it.

    Every parser in use (the WHATWG urlencoded parser, .NET/OWIN, PHP, Java servlets, Python's
    parse_qsl, the mock) splits at `&` and a pair's first `=`, reads `+` as a space and `%HH`
    as a byte, and takes every other byte as itself. So `+ & %` change a value when left raw
    (the decoded values show that); the classes below are what is left."""

    # Printable ASCII with no meaning to a form parser: `! ' ( ) / : @ …`, and `=` after a
    # pair's first. Read as themselves everywhere; Node's querystring and encodeURIComponent
    # leave `! ' ( ) * ~` raw, the WHATWG serializer `* - . _`, HTML 4.01 (which RFC 6749
    # Appendix B cites) none but letters and digits.
    NO_MEANING = "no meaning to a form parser"
    # Python's parse_qsl before 3.9.2 and Rack split at `;` as at `&`.
    SEMICOLON = "a separator to older parsers"
    # Outside every form syntax (a space is `+` or `%20`); parsers read them as themselves.
    SPACE_OR_CONTROL = "a space or control character"
    # RFC 6749 Appendix B: UTF-8 octets, percent-encoded. Raw octets are read right only by a
    # server that decodes the body as UTF-8.
    NON_ASCII = "non-ASCII"
    # A `%` that does not start `%HH`: the mock refuses the request, Java's URLDecoder throws.
    BAD_PERCENT = "a % that starts no %HH escape"


def raw_chars(raw: str) -> dict[RawChar, str]:
    """The characters of a form body (or query) left raw, by class; unreserved characters,
    `*`, and `+ & = %HH` in their form meaning are not listed."""
    found: dict[RawChar, set[str]] = {}
    hexdigits = set(string.hexdigits)
    for pair in raw.split("&"):
        name, _, value = pair.partition("=")
        for part in (name, value):
            for i, c in enumerate(part):
                if c in UNRESERVED or c in "*+":
                    continue
                if c == "%":
                    if set(part[i + 1 : i + 3]) <= hexdigits and len(part[i + 1 : i + 3]) == 2:
                        continue
                    kind = RawChar.BAD_PERCENT
                elif c == ";":
                    kind = RawChar.SEMICOLON
                elif ord(c) <= 0x20 or ord(c) == 0x7F:
                    kind = RawChar.SPACE_OR_CONTROL
                elif ord(c) > 0x7F:
                    kind = RawChar.NON_ASCII
                else:
                    kind = RawChar.NO_MEANING
                found.setdefault(kind, set()).add(c)
    return {k: "".join(sorted(v)) for k, v in found.items()}


def shown_chars(chars: str) -> str:
    """Characters for a message: a space or control character by its code."""
    return " ".join(c if 0x20 < ord(c) != 0x7F else "U+%04X" % ord(c) for c in chars[:20])


def flows_present(*runs):
    return [r for r in runs if r is not None]


def token_requests(run):
    return run.journal.token_requests()


def refresh_requests(run, step=None) -> list[Refresh]:
    """The refreshes of `run`, or of one of its steps."""
    return [
        r for r in run.journal.refreshes if step is None or step.seq_from <= r.seq < step.seq_to
    ]


def sent_access_token(e):
    """The access token an API request carries, wherever it travels (Bearer header, query, form
    body): checks of token handling judge the token; api/token-in-header and api/one-method
    judge how it travels."""
    tok = bearer_token(e)
    if tok is not None:
        return tok
    for values in (
        query_of(e).get("access_token"),
        form_of(e).get("access_token") if is_form(e) else None,
    ):
        if values:
            return values[0]
    return None


def step_requests(run, step, requests):
    return [e for e in requests if step.seq_from <= e["seq"] < step.seq_to]


def where(run, e):
    s = run.step_of(e)
    return "#%s (%s%s)" % (
        e.get("seq"),
        s.label if s else "outside any step",
        "" if s is None else ", step %d" % s.n,
    )


def is_form(e):
    """The request body is a form (what token-request/form-encoded judges); checks of form
    parameters judge only those, so a JSON body is one FAIL there, not one per parameter check."""
    media = (
        (header(e, "Content-Type") or "application/x-www-form-urlencoded")
        .split(";")[0]
        .strip()
        .lower()
    )
    body = (e.get("body") or "").lstrip()
    return media == "application/x-www-form-urlencoded" and not body.startswith(("{", "[", "--"))


def client_auth_methods(e):
    m = []
    if basic_credentials(e) is not None:
        m.append("basic")
    if "client_secret" in form_of(e):
        m.append("body")
    return m


def authorize_urls(run):
    """(step, url, params) for every authorize URL the client produced."""
    out = []
    for s in run.steps:
        if s.browser:
            for u in s.browser.authorize_urls:
                q = {}
                for k, v in urllib.parse.parse_qsl(
                    urllib.parse.urlsplit(u).query, keep_blank_values=True
                ):
                    q.setdefault(k, []).append(v)
                out.append((s, u, q))
    return out


def entropy_bits(value):
    """A rough upper estimate: length times log2 of the alphabet the value seems drawn from."""
    if not value:
        return 0.0
    chars = set(value)
    if chars <= set("0123456789abcdef") or chars <= set("0123456789ABCDEF"):
        alpha = 16
    elif chars <= set("0123456789"):
        alpha = 10
    elif chars <= UNRESERVED | set("+/="):
        alpha = 64
    else:
        alpha = max(len(chars), 2)
    distinct = len(chars)
    if distinct < 4:  # "aaaaaaaa…" is not random whatever its length
        return float(distinct)
    return len(value) * math.log2(alpha)


def s256(verifier):
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def describe_mangling(expected, got):
    if got is None:
        return "missing"
    if got == expected:
        return "exact"
    if got == expected.replace("+", " "):
        return "every '+' arrived as a space (value not form-encoded)"
    if "&" in expected and got == expected.split("&")[0]:
        return "cut at the first '&' (value not form-encoded)"
    if expected.startswith(got):
        return "truncated to %d of %d characters" % (len(got), len(expected))
    try:
        if urllib.parse.unquote_plus(got) == expected:
            return "form-encoded twice"
    except Exception:
        pass
    return "differs (%d characters, expected %d)" % (len(got), len(expected))


def is_loopback_literal(host):
    return host in ("127.0.0.1", "[::1]", "::1")


def redirect_registered(uri, registered, base):
    """The mock's rule: exact match; loopback http URIs match any port."""
    try:
        u = urllib.parse.urlsplit(uri)
    except ValueError:
        return False
    for r in registered:
        if r == "self":
            r = base
        if uri == r:
            return True
        ru = urllib.parse.urlsplit(r)
        if (
            ru.scheme == "http"
            and ru.hostname in ("127.0.0.1", "::1", "localhost")
            and u.scheme == "http"
            and u.hostname == ru.hostname
            and u.path == ru.path
            and u.query == ru.query
        ):
            return True
    return False


__all__ = ["basic_credentials", "bearer_token", "form1", "form_of", "header"]
