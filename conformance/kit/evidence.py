"""Helpers the checks share to read evidence: which requests, which methods, how values were mangled."""

import base64
import hashlib
import math
import urllib.parse

from .journal import basic_credentials, bearer_token, form1, form_of, header

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
FORM_SAFE = UNRESERVED | set("%+&=*")


def flows_present(*runs):
    return [r for r in runs if r is not None]


def token_requests(run):
    return run.journal.token_requests()


def refresh_requests(run, step=None):
    out = []
    for e, rt, state in run.journal.refreshes:
        if step is None or step.seq_from <= e["seq"] < step.seq_to:
            out.append((e, rt, state))
    return out


def where(run, e):
    s = run.step_of(e)
    return "#%s (%s%s)" % (e.get("seq"), s.label if s else "outside any step",
                           "" if s is None else ", step %d" % s.n)


def is_form(e):
    """The request body is a form (what token-request/form-encoded judges); checks of form
    parameters judge only those, so a JSON body is one FAIL there, not one per parameter check."""
    media = (header(e, "Content-Type") or "application/x-www-form-urlencoded").split(";")[0].strip().lower()
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
                for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(u).query,
                                                   keep_blank_values=True):
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
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


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
        if ru.scheme == "http" and ru.hostname in ("127.0.0.1", "::1", "localhost") and \
                u.scheme == "http" and u.hostname == ru.hostname and u.path == ru.path and \
                u.query == ru.query:
            return True
    return False


__all__ = ["basic_credentials", "bearer_token", "form1", "form_of", "header"]
