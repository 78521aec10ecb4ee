"""Flows: scripted sessions of one client against one scenario. A flow resets its scenario,
starts the adapter, runs adapter commands and control-API actions, and keeps the journal.
Several checks judge the same flow, so each flow runs once per kit run."""

from __future__ import annotations

import os
import shutil
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

from .adapter import AdapterError, Reply, make_adapter, now_ms
from .browser import Browser
from .journal import Journal, form1, response_json
from .step_labels import LOGIN
from .mockserver import MockPaths, Scenario, load_fixture

# Product-API paths are written relative to the product API base (`…/s/<scenario>/1/json`, the
# convention of 2BA's documentation and twoba-client); a version-1 adapter gets them with the
# product API's prefix (`/1/json`), relative to `api_base` (`…/s/<scenario>`).
DEFAULT_API_PATH = "/Product/DetailsForProduct?gtin=08711893010011"


@dataclass
class FlowSpec:
    name: str
    fixture: str
    fn: Callable = field(repr=False)
    doc: str = ""
    cost: float = 1.0  # relative run time, for spreading flows over shards
    client_auth: str = "body"
    client_id: Optional[str] = None
    tls: Optional[str] = None  # good | self_signed | wrong_host | expired
    give_ca: bool = True
    # Flows in which the client's own clock matters: the fixture used when the adapter cannot
    # advance the client's time (the real-time fallback, with tokens of a few seconds).
    real_time_fixture: Optional[str] = None


FLOWS: dict[str, FlowSpec] = {}


@dataclass
class ClientTime:
    """How time passes for the client in this kit run."""

    mode: str  # "client": the adapter's advance_time works; "real": real time, short-lived tokens
    reason: str

    @property
    def advances(self) -> bool:
        return self.mode == "client"


class SkipFlow(Exception):
    """The adapter declared a needed command or configuration unsupported."""


class FlowAbort(Exception):
    """The flow cannot go on (e.g. the client could not log in); checks judge what is there."""


def flow(name, fixture, **options):
    def deco(fn):
        FLOWS[name] = FlowSpec(name, fixture, fn, (fn.__doc__ or "").strip(), **options)
        return fn

    return deco


@dataclass
class Step:
    """One adapter command or control action of a flow, with the journal positions it covers."""

    n: int
    label: str
    cmd: str
    args: dict
    seq_from: int
    seq_to: int = -1
    reply: Optional[Reply] = None
    t_start: int = field(default_factory=now_ms)
    t_end: Optional[int] = None
    typed: int = 0  # credentials the user typed during this step
    browser: Optional[Browser] = None

    def __post_init__(self):
        if self.seq_to < 0:
            self.seq_to = self.seq_from

    def to_json(self):
        d = {
            "n": self.n,
            "label": self.label,
            "cmd": self.cmd,
            "args": self.args,
            "journal_seq": [self.seq_from, self.seq_to],
            "t_start_ms": self.t_start,
            "t_end_ms": self.t_end,
        }
        if self.reply is not None:
            d["reply"] = self.reply.to_json()
        if self.typed:
            d["credentials_typed"] = self.typed
        if self.browser is not None:
            d["browser"] = {
                "authorize_urls": self.browser.authorize_urls,
                "delivered": self.browser.delivered,
                "log": self.browser.log,
            }
        return d


class FlowRun:
    """One execution of a flow; what checks read."""

    def __init__(
        self,
        env,
        spec: FlowSpec,
        server_url=None,
        ca_file=None,
        verify=True,
        label=None,
        clock: Optional[ClientTime] = None,
    ):
        self.env = env
        self.spec = spec
        self.name = label or spec.name
        self.clock = clock or ClientTime("real", "no client time needed")
        self.fixture_name = spec.fixture
        if spec.real_time_fixture and not self.clock.advances:
            self.fixture_name = spec.real_time_fixture
        self.fixture = load_fixture(self.fixture_name)
        self.paths: MockPaths = env.paths
        self.scenario = Scenario(
            server_url or env.server_url, self.fixture_name, verify=verify, paths=self.paths
        )
        client = self._pick_client(spec.client_id)
        user = self.fixture["users"][0]
        self.client_id = client["client_id"]
        self.client_secret = client.get("client_secret")
        self.username = user["username"]
        self.password = user["password"]
        self.ca_file = ca_file
        self.client_auth = spec.client_auth
        self.protocol = 1  # the adapter's protocol version, known after the handshake
        self.steps: list[Step] = []
        self.control = []  # (time_ms, description)
        self.skipped = None
        self.aborted = None
        self.error = None
        self.journal = None
        self.adapter = None
        self.handshake = {}
        self.state_dir = os.path.join(
            env.workdir, "state-%s-%d" % (self.name, int(time.time() * 1000))
        )
        self._mark = 0

    def _pick_client(self, client_id):
        for c in self.fixture["clients"]:
            if client_id and c["client_id"] == client_id:
                return c
            if not client_id and c.get("client_secret"):
                return c
        return self.fixture["clients"][0]

    @property
    def base(self):
        return self.scenario.base

    def config(self):
        return {
            **self.paths.client_urls(self.base),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "client_auth": self.client_auth,
            "state_dir": self.state_dir,
            "ca_file": self.ca_file,
            "scope": None,
        }

    def secrets(self):
        s = {}
        if self.client_secret:
            s[self.client_secret] = "client_secret"
        s[self.password] = "password"
        return s

    # --- lifecycle ----------------------------------------------------------------------------
    def run(self):
        os.makedirs(self.state_dir, exist_ok=True)
        try:
            self.scenario.reset()
            self._mark = self.scenario.next_seq()
            self.adapter = make_adapter(
                self.env.transport,
                self.env.argv,
                self.env.stderr_path,
                self.env.timeout,
                self.env.adapter_env,
            )
            hs = self.adapter.start(self.config())
            self.handshake = hs or {}
            self.protocol = self.adapter.version
            if "skipped" in self.handshake:
                s = self.handshake["skipped"]
                raise SkipFlow(
                    s.get("reason", "adapter skipped") if isinstance(s, dict) else str(s)
                )
            if "error" in self.handshake:
                raise FlowAbort(
                    "adapter refused to start: %s" % Reply.from_json(self.handshake).describe()
                )
            self.spec.fn(self)
        except SkipFlow as e:
            self.skipped = str(e)
        except FlowAbort as e:
            self.aborted = str(e)
        except AdapterError as e:
            self.error = "adapter protocol error: %s" % e
        except Exception as e:  # keep evidence; the checks report the error
            self.error = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
        finally:
            if self.adapter is not None:
                self.adapter.stop()
            try:
                entries = self.scenario.journal(0)
            except Exception as e:
                entries = []
                self.error = self.error or "could not read the journal: %s" % e
            self.journal = Journal(entries, self.paths, self.secrets())
            self._redact_replies()
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return self

    def _redact_replies(self):
        """Adapter messages and skip reasons are the client's words: they may quote a secret."""
        red = self.journal.redact
        for s in self.steps:
            if s.reply is not None:
                s.reply.message = red(s.reply.message) if s.reply.message else s.reply.message
                s.reply.kind = red(s.reply.kind) if s.reply.kind else s.reply.kind
        for attr in ("skipped", "aborted", "error"):
            if getattr(self, attr):
                setattr(self, attr, red(getattr(self, attr)))

    def failed_step(self) -> Optional[Step]:
        """The step that cut the flow short: the failed required step of an aborted flow, or a
        login that failed (a refused or cancelled login in a negative scenario does not count)."""
        if self.aborted:
            return next(
                (s for s in reversed(self.steps) if s.reply is not None and not s.reply.ok), None
            )
        if self.spec.tls not in (None, "good"):
            return None  # a refused login is what a bad certificate should cause
        for s in self.steps:
            if (
                s.reply is None
                or s.reply.ok
                or s.reply.abandoned
                or (s.browser and s.browser.behaviour != "login")
            ):
                continue
            if s.cmd in ("login_password", "login_code") or any(
                _malformed(e, self.paths) for e in self.entries_of(s)
            ):
                return s
        return None

    def root_cause(self) -> Optional[str]:
        """Why this flow did not get where its checks look, or None when it ran through."""
        failed = self.failed_step()
        if failed is None:
            return "flow '%s' stopped: %s" % (self.name, self.aborted) if self.aborted else None
        answers = [
            "#%s %s %s → %s"
            % (e.get("seq"), e.get("method"), e.get("path", "").split("?")[0], e.get("status"))
            for e in self.entries_of(failed)
        ][:4]
        return "flow '%s', step '%s' failed (%s)%s" % (
            self.name,
            failed.label,
            failed.reply.describe(),
            "; the mock answered " + ", ".join(answers)
            if answers
            else "; no request reached the mock",
        )

    # --- adapter commands -----------------------------------------------------------------------
    def cmd(
        self,
        cmd,
        label=None,
        args=None,
        on_event=None,
        timeout=None,
        shown_args=None,
        required=False,
    ):
        step = Step(
            len(self.steps) + 1,
            label or cmd,
            cmd,
            shown_args or dict(args or {}),
            self.scenario.next_seq(),
        )
        self.steps.append(step)
        step.reply = self.adapter.command(cmd, args, on_event=on_event, timeout=timeout)
        step.t_end = now_ms()
        step.typed = step.reply.credentials_entered() + (1 if cmd == "login_password" else 0)
        if (
            self.env.transport == "jsonl"
            and step.reply.status != "skipped"
            and getattr(self, "_expect_nothing", False)
        ):
            time.sleep(self.env.wait)
        step.seq_to = self.scenario.next_seq()
        if step.reply.status == "skipped":
            raise SkipFlow("%s: %s" % (cmd, step.reply.kind or "unsupported"))
        if required and not step.reply.ok:
            raise FlowAbort("%s failed: %s" % (label or cmd, step.reply.describe()))
        return step

    def login_password(self, label=LOGIN, required=True):
        return self.cmd(
            "login_password",
            label,
            {"username": self.username, "password": self.password},
            shown_args={"username": self.username, "password": "\u00abpassword\u00bb"},
            required=required,
        )

    def login_code(self, label="login_code", behaviour="login", required=False):
        browser = Browser(
            self.scenario, self.username, self.password, behaviour, expect_nothing=self.env.wait
        )
        if behaviour != "login":
            self._expect_nothing = True
        try:
            step = self.cmd("login_code", label, {}, on_event=browser.on_event, required=False)
        finally:
            self._expect_nothing = False
        browser.join()
        step.browser = browser
        if not browser.authorize_urls and step.reply.status != "skipped":
            raise FlowAbort(
                "%s: the client produced no authorize URL (reply %s)"
                % (label, step.reply.describe())
            )
        if required and not step.reply.ok:
            raise FlowAbort("%s failed: %s" % (label, step.reply.describe()))
        return step

    def call_api(
        self,
        label="call",
        concurrency=1,
        path=DEFAULT_API_PATH,
        required=False,
        expect_nothing=False,
    ):
        if self.protocol < 2:
            path = self.paths.product + path
        args = {"path": path, "concurrency": concurrency}
        self._expect_nothing = expect_nothing
        try:
            return self.cmd("call_api", label, args, required=required)
        finally:
            self._expect_nothing = False

    def refresh(self, label="refresh", required=False):
        return self.cmd("refresh", label, {}, required=required)

    def restart(self, label="restart"):
        if self.env.transport == "cli":
            # Every one-shot command is a fresh process: a restart happens between any two.
            step = Step(
                len(self.steps) + 1,
                label,
                "restart",
                {"note": "implicit (one process per command)"},
                self.scenario.next_seq(),
            )
            step.t_end = now_ms()
            self.steps.append(step)
            return step
        return self.cmd("restart", label, {}, required=True)

    # --- control actions ----------------------------------------------------------------------
    def _note(self, text):
        self.control.append((now_ms(), text))
        step = Step(
            len(self.steps) + 1, "control", "control", {"action": text}, self.scenario.next_seq()
        )
        step.t_end = step.t_start
        self.steps.append(step)

    def fault(self, description, **fault):
        self.scenario.fault(**fault)
        self._note("fault: " + description)

    def clear_faults(self):
        self.scenario.clear_faults()
        self._note("faults cleared")

    def advance_server_clock(self, seconds):
        """Only the mock's clock moves: the client is not told (a token dies behind its back)."""
        self.scenario.advance(seconds)
        self._note("server clock advanced %d s" % seconds)

    def access_token_lifetime(self) -> int:
        return int(self.fixture.get("policy", {}).get("access_token_lifetime", 3600))

    def let_access_tokens_expire(self):
        """Time passes for server and client until the current access token has expired: with
        client time, both clocks jump by its lifetime + 1 s (advance_time); in the real-time
        fallback the fixture's tokens live a few seconds and the kit waits that long."""
        lifetime = self.access_token_lifetime()
        if self.clock.advances:
            self.scenario.advance(lifetime + 1)
            step = Step(
                len(self.steps) + 1,
                "time passes",
                "advance_time",
                {"seconds": lifetime + 1},
                self.scenario.next_seq(),
            )
            self.steps.append(step)
            step.reply = self.adapter.command("advance_time", {"seconds": lifetime + 1})
            step.t_end = now_ms()
            step.seq_to = self.scenario.next_seq()
            if not step.reply.ok:
                raise FlowAbort(
                    "advance_time failed after a successful probe: %s" % step.reply.describe()
                )
        else:
            self.wait(
                lifetime + 0.6,
                "the %d-second access token expires in real time (%s)"
                % (lifetime, self.clock.reason),
            )

    def current_journal(self):
        return Journal(self.scenario.journal(0), self.paths, self.secrets())

    def expire_access_tokens(self):
        """Expires every access token issued so far (the refresh tokens stay valid)."""
        j = self.current_journal()
        n = 0
        for _, kind, value, _ in j.issued:
            if kind == "access_token":
                n += self.scenario.expire(token=value).get("affected", 0)
        self._note("access tokens expired on the server (%d)" % n)

    def revoke_user(self):
        self.scenario.revoke(user=self.username)
        self._note("every token of user %s revoked" % self.username)

    def wait(self, seconds, why):
        time.sleep(seconds)
        self._note("waited %.1f s (%s)" % (seconds, why))

    def time_passed_steps(self) -> list[Step]:
        """Steps at which time passed for the client (its tokens' lifetimes end there)."""
        return [
            s
            for s in self.steps
            if s.cmd == "advance_time"
            or (
                s.cmd == "control"
                and s.args.get("action", "").startswith(("waited", "server clock"))
            )
        ]

    # --- helpers for checks -------------------------------------------------------------------
    def step(self, label):
        for s in self.steps:
            if s.label == label:
                return s
        return None

    def entries_of(self, step):
        return [e for e in self.journal.entries if step.seq_from <= e.get("seq", 0) < step.seq_to]

    def step_of(self, entry):
        for s in self.steps:
            if s.seq_from <= entry.get("seq", 0) < s.seq_to:
                return s
        return None

    def evidence(self):
        red = self.journal.redact if self.journal else (lambda t: t)
        steps = []
        for s in self.steps:
            d = s.to_json()
            if "browser" in d:  # delivered redirects carry codes
                d["browser"] = {k: [red(x) for x in v] for k, v in d["browser"].items()}
            if "reply" in d and "events" in d["reply"]:
                d["reply"]["events"] = [
                    {k: red(v) if isinstance(v, str) else v for k, v in e.items()}
                    for e in d["reply"]["events"]
                ]
            steps.append(d)
        return {
            "flow": self.name,
            "fixture": "fixtures/%s.json" % self.fixture_name,
            "description": self.spec.doc,
            "client_time": "%s (%s)" % (self.clock.mode, self.clock.reason)
            if self.spec.real_time_fixture
            else None,
            "skipped": self.skipped,
            "aborted": self.aborted,
            "error": self.error,
            "steps": steps,
            "wire_log": self.journal.wire_log() if self.journal else [],
        }


def _malformed(entry, paths: MockPaths) -> bool:
    """The mock refused a request for its shape, not for its token (and no scenario fault made
    it say so): the client's request was malformed, which the request-shape checks judge."""
    if entry.get("fault"):
        return False
    if paths.is_api(entry.get("path", "")):
        return entry.get("status") == 400  # the product API refused the request's shape
    if not paths.is_token(entry.get("path", "")):
        return False
    if entry.get("status") in (405, 415):
        return True
    body = response_json(entry) or {}
    return entry.get("status") in (400, 401) and body.get("error") in (
        "invalid_request",
        "unsupported_grant_type",
        "invalid_client",
    )


def grant_type(entry):
    return form1(entry, "grant_type")
