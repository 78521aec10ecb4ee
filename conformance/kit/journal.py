"""Reading the mock's request journal: token requests, API calls, issued tokens, token states,
and the redacted wire log that goes into reports."""

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass

from .mockserver import MockPaths, strip_scenario

SENSITIVE_FORM_KEYS = (
    "password",
    "client_secret",
    "refresh_token",
    "access_token",
    "code",
    "code_verifier",
)


def header(entry, name, key="headers"):
    for k, v in (entry.get(key) or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def form_of(entry):
    """The parsed form, duplicates kept: {name: [values]}."""
    f = entry.get("form")
    if isinstance(f, dict):
        return {k: (v if isinstance(v, list) else [v]) for k, v in f.items()}
    out = {}
    for k, v in urllib.parse.parse_qsl(entry.get("body") or "", keep_blank_values=True):
        out.setdefault(k, []).append(v)
    return out


def form1(entry, name):
    v = form_of(entry).get(name)
    return v[0] if v else None


def query_of(entry):
    q = entry.get("query")
    if isinstance(q, dict):
        return {k: (v if isinstance(v, list) else [v]) for k, v in q.items()}
    out = {}
    for k, v in urllib.parse.parse_qsl(q or "", keep_blank_values=True):
        out.setdefault(k, []).append(v)
    return out


def basic_credentials(entry):
    """(raw_user, raw_password) of an Authorization: Basic header, or None."""
    h = header(entry, "Authorization")
    if not h or not h.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(h.split(None, 1)[1].strip(), validate=False).decode(
            "utf-8", "replace"
        )
    except (ValueError, IndexError):
        return ("", "")
    user, _, pw = raw.partition(":")
    return (user, pw)


def bearer_token(entry):
    h = header(entry, "Authorization")
    if h and h.lower().startswith("bearer "):
        return h.split(None, 1)[1].strip()
    return None


def response_json(entry):
    try:
        v = json.loads(entry.get("response_body") or "")
        return v if isinstance(v, dict) else None
    except ValueError:
        return None


@dataclass
class Refresh:
    """A refresh request of the journal: the refresh token it presented and that token's state
    then (the mock's outcome, else as the journal tracked it: active, rotated, unknown…)."""

    entry: dict
    token: str
    state: str

    @property
    def seq(self) -> int:
        return self.entry["seq"]

    @property
    def status(self):
        return self.entry.get("status")


class Journal:
    """The journal of one scenario run, with derived facts."""

    def __init__(self, entries, paths: MockPaths, secrets=None):
        self.entries = sorted(entries, key=lambda e: e.get("seq", 0))
        self.paths = paths
        self.secrets = dict(secrets or {})  # value -> label
        self.issued = []  # (seq, kind, value, label)
        self.labels = {}
        counters = {"access_token": 0, "refresh_token": 0, "code": 0}
        self.rt_grant = {}
        self.rt_state = {}
        self.refreshes: list[Refresh] = []
        grant_n = 0
        for e in self.entries:
            if not paths.is_token(e.get("path", "")):
                continue
            gt = form1(e, "grant_type")
            code = form1(e, "code")
            if code and code not in self.labels:
                counters["code"] += 1
                self.labels[code] = "code%d" % counters["code"]
            presented = form1(e, "refresh_token") if gt == "refresh_token" else None
            if presented is not None:
                state = (e.get("outcome") or {}).get("refresh_token_state") or self.rt_state.get(
                    presented, "unknown"
                )
                self.refreshes.append(Refresh(e, presented, state))
            body = response_json(e) if e.get("status") == 200 else None
            if body is None:
                continue
            grant = self.rt_grant.get(presented) if presented else None
            if grant is None:
                grant_n += 1
                grant = (e.get("outcome") or {}).get("grant") or "grant%d" % grant_n
            for kind in ("access_token", "refresh_token"):
                v = body.get(kind)
                if isinstance(v, str) and v and v not in self.labels:
                    counters[kind] += 1
                    self.labels[v] = ("AT%d" if kind == "access_token" else "RT%d") % counters[kind]
                    self.issued.append((e["seq"], kind, v, self.labels[v]))
            new_rt = body.get("refresh_token")
            if isinstance(new_rt, str) and new_rt:
                if presented and new_rt != presented:
                    self.rt_state[presented] = "rotated"
                self.rt_state[new_rt] = "active"
                self.rt_grant[new_rt] = grant

    # --- selections ---------------------------------------------------------------------------
    def token_requests(self):
        return [e for e in self.entries if self.paths.is_token(e.get("path", ""))]

    def api_requests(self):
        return [e for e in self.entries if self.paths.is_api(e.get("path", ""))]

    def authorize_requests(self):
        return [e for e in self.entries if self.paths.is_authorize(e.get("path", ""))]

    def grants(self, gt):
        return [e for e in self.token_requests() if form1(e, "grant_type") == gt]

    def between(self, first_seq, end_seq):
        return Journal(
            [e for e in self.entries if first_seq <= e.get("seq", 0) < end_seq],
            self.paths,
            self.secrets,
        )

    def label(self, value):
        if value is None:
            return "(none)"
        if value in self.labels:
            return self.labels[value]
        if value in self.secrets:
            return self.secrets[value]
        return "unknown value (%d chars)" % len(value)

    def newest_access_token_before(self, seq):
        best = None
        for s, kind, v, _ in self.issued:
            if kind == "access_token" and s < seq:
                best = v
        return best

    # --- redaction ----------------------------------------------------------------------------
    def _replacements(self):
        reps = {}
        for v, lab in list(self.secrets.items()) + list(self.labels.items()):
            if not v:
                continue
            tag = "\u00ab%s\u00bb" % lab
            reps[v] = tag
            reps[urllib.parse.quote_plus(v, safe="")] = tag
            reps[urllib.parse.quote(v, safe="")] = tag
            reps[json.dumps(v)[1:-1]] = tag
        return sorted(reps.items(), key=lambda kv: -len(kv[0]))

    def redact(self, text, reps=None):
        if not text:
            return text
        # Long values are replaced wherever they occur; short ones ("demo") only as parameter
        # values below, or they would eat parts of other words ("demo-client").
        for v, tag in reps if reps is not None else self._replacements():
            if len(v) >= 8 and v in text:
                text = text.replace(v, tag)

        def mask(value):
            known = self.labels.get(value) or self.secrets.get(value)
            if known is None:
                try:
                    dec = urllib.parse.unquote_plus(value)
                except Exception:
                    dec = value
                known = self.labels.get(dec) or self.secrets.get(dec)
            return (
                "\u00ab%s\u00bb" % known if known else "\u00abunknown, %d chars\u00bb" % len(value)
            )

        # Whatever is left in a sensitive parameter is named if known, else masked (mangled, forged).
        text = re.sub(
            r"(?i)\b(%s)=([^&\s\u00ab][^&\s]*)" % "|".join(SENSITIVE_FORM_KEYS),
            lambda m: "%s=%s" % (m.group(1), mask(m.group(2))),
            text,
        )
        text = re.sub(
            r'(?i)"(access_token|refresh_token|password|client_secret)"\s*:\s*"([^"\u00ab][^"]*)"',
            lambda m: '"%s":"%s"' % (m.group(1), mask(m.group(2))),
            text,
        )
        return text

    def _redact_headers(self, headers, reps):
        out = {}
        for k, v in (headers or {}).items():
            lk = k.lower()
            if lk == "authorization" and v.lower().startswith("basic "):
                user, pw = basic_credentials({"headers": {k: v}}) or ("", "")
                secret = self.secrets.get(pw) or self.secrets.get(urllib.parse.unquote_plus(pw))
                out[k] = "Basic base64(%s:%s)" % (
                    user,
                    "\u00ab%s\u00bb" % secret
                    if secret
                    else "\u00abunknown, %d chars\u00bb" % len(pw),
                )
            elif lk == "authorization":
                scheme, _, tok = v.partition(" ")
                red = self.redact(tok, reps)
                if red == tok and tok in self.labels:
                    red = "\u00ab%s\u00bb" % self.labels[tok]
                if red == tok and tok:
                    red = "\u00abunknown, %d chars\u00bb" % len(tok)
                out[k] = "%s %s" % (scheme, red)
            elif lk in ("cookie", "set-cookie"):
                out[k] = "\u00abredacted\u00bb"
            else:
                out[k] = self.redact(v, reps)
        return out

    def wire_log(self, limit_body=4000):
        reps = self._replacements()
        log = []
        for e in self.entries:
            body = self.redact(e.get("body") or "", reps)
            resp = self.redact(e.get("response_body") or "", reps)
            item = {
                "seq": e.get("seq"),
                "time": e.get("time"),
                "real_time_ms": e.get("real_time_ms"),
                "method": e.get("method"),
                "path": e.get("path"),
                "query": self.redact(
                    e.get("query")
                    if isinstance(e.get("query"), str)
                    else urllib.parse.urlencode(e.get("query") or {}, doseq=True),
                    reps,
                ),
                "headers": self._redact_headers(e.get("headers"), reps),
                "body": body[:limit_body],
                "status": e.get("status"),
                "response_headers": self._redact_headers(e.get("response_headers"), reps),
                "response_body": resp[:limit_body],
            }
            if e.get("fault"):
                item["fault"] = e["fault"]
            if e.get("outcome"):
                item["outcome"] = e["outcome"]  # states and ids only, no secrets
            log.append(item)
        return log


def path_of(entry):
    return strip_scenario(urllib.parse.urlsplit(entry.get("path", "")).path)
