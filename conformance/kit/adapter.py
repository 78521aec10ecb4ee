"""The two adapter transports of ADAPTERS.md: JSON lines over stdin/stdout, and one-shot CLI."""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

from . import ADAPTER_PROTOCOL_VERSION

# Exit codes of the one-shot CLI transport (the reference client's codes; 127 = unsupported).
EXIT_KINDS = {
    2: "usage",
    3: "relogin_required",
    4: "transport",
    5: "server",
    6: "oauth",
    7: "parse",
}
EXIT_UNSUPPORTED = 127
_INFO_CACHE = {}

ENV_KEYS = {
    "token_url": "TWOBA_TOKEN_URL",
    "authorize_url": "TWOBA_AUTHORIZE_URL",
    "api_base": "TWOBA_API_BASE",
    "product_api_base": "TWOBA_PRODUCT_API_BASE",
    "client_id": "TWOBA_CLIENT_ID",
    "client_secret": "TWOBA_CLIENT_SECRET",
    "client_auth": "TWOBA_CLIENT_AUTH",
    "state_dir": "TWOBA_STATE_DIR",
    "ca_file": "TWOBA_CA_FILE",
    "scope": "TWOBA_SCOPE",
}


# Variables of the kit's own environment that would silently change how an adapter's client
# talks to the mock (trust store, proxies, TLS switches): never passed on (ADAPTERS.md,
# "Environment"); --pass-env NAME keeps one.
WITHHELD_ENV = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "PYTHONHTTPSVERIFY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "GODEBUG",
)


def adapter_environment(keep=()):
    """The environment adapters get: the kit's own, without WITHHELD_ENV (unless kept) and
    without stale TWOBA_* configuration."""
    env = {}
    for k, v in os.environ.items():
        if (k in WITHHELD_ENV and k not in keep) or (k in ENV_KEYS.values()):
            continue
        env[k] = v
    return env


def withheld_names(keep=()):
    return sorted(k for k in os.environ if k in WITHHELD_ENV and k not in keep)


class AdapterError(Exception):
    """The adapter broke the protocol (bad JSON, wrong seq, died during the handshake)."""


def now_ms():
    return int(time.time() * 1000)


@dataclass
class Reply:
    """What the adapter answered to one command."""

    status: str  # ok | error | skipped | timeout
    kind: Optional[str] = None  # error kind, or skip reason
    message: Optional[str] = None
    data: dict = field(default_factory=dict)
    events: list = field(default_factory=list)  # (time_ms, event dict)
    abandoned: bool = False  # the kit stopped waiting (expect-nothing deadline)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def credentials_entered(self) -> int:
        return sum(1 for _, e in self.events if e.get("event") == "credentials_entered")

    def describe(self) -> str:
        """'ok', 'error oauth: refresh rejected', 'skipped: no store', for findings."""
        text = self.status + (" " + self.kind if self.kind and self.status != "skipped" else "")
        detail = self.message if self.status != "skipped" else self.kind
        if detail:
            text += ": " + (detail if len(detail) <= 200 else detail[:200] + "…")
        return text

    def to_json(self) -> dict:
        d = {"status": self.status}
        if self.kind:
            d["kind"] = self.kind
        if self.message:
            d["message"] = self.message[:500]
        if self.data:
            d["data"] = self.data
        if self.events:
            d["events"] = [dict(e, time_ms=t) for t, e in self.events]
        if self.abandoned:
            d["abandoned"] = True
        return d

    @classmethod
    def from_json(cls, obj) -> "Reply":
        if obj.get("ok") is True:
            data = {k: v for k, v in obj.items() if k not in ("seq", "ok")}
            return cls("ok", data=data)
        if "skipped" in obj:
            s = (
                obj["skipped"]
                if isinstance(obj["skipped"], dict)
                else {"reason": str(obj["skipped"])}
            )
            return cls("skipped", kind=s.get("reason"), message=s.get("issue_url"))
        if "error" in obj:
            e = obj["error"] if isinstance(obj["error"], dict) else {"kind": str(obj["error"])}
            msg = e.get("message")
            return cls(
                "error", kind=e.get("kind", "other"), message=None if msg is None else str(msg)
            )
        raise AdapterError("reply is neither ok, error nor skipped: %s" % json.dumps(obj)[:300])


class _LineReader:
    """Line reader over a pipe with deadlines (no threads, select-based)."""

    def __init__(self, fileobj):
        self.fd = fileobj.fileno()
        self.buf = b""
        self.eof = False

    def readline(self, deadline):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1 :]
                return line.decode("utf-8", errors="replace").rstrip("\r")
            if self.eof:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line.decode("utf-8", errors="replace")
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.5))
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.eof = True
                else:
                    self.buf += chunk


def _kill_group(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


class JsonlAdapter:
    """A long-running adapter speaking JSON lines on stdin/stdout."""

    transport = "jsonl"

    def __init__(self, argv, stderr_path, timeout=30.0, env=None):
        self.argv = argv
        self.stderr_path = stderr_path
        self.timeout = timeout
        self.env = env
        self.proc = None
        self.seq = 0
        self.implementation = {}
        self.version = 1  # the protocol version the adapter answered in its ready reply
        self.hung = False

    def start(self, config):
        self._stderr = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,
                env=self.env,
            )
        except OSError as e:
            raise AdapterError("cannot start the adapter %s: %s" % (shlex.join(self.argv), e))
        self.reader = _LineReader(self.proc.stdout)
        self._send({"cmd": "start", "version": ADAPTER_PROTOCOL_VERSION, "config": config})
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                line = self.reader.readline(deadline)
                if line is None:
                    time.sleep(0.05)
                    raise AdapterError(
                        "adapter exited (status %s) during the start handshake; its "
                        "stderr ends: %s" % (self.proc.poll(), self.stderr_tail() or "(empty)")
                    )
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise AdapterError("handshake reply is not JSON: %r" % line[:300])
                if not isinstance(obj, dict):
                    raise AdapterError("handshake reply is not a JSON object: %r" % line[:300])
                if obj.get("ready"):
                    self.implementation = obj.get("implementation", {})
                    v = obj.get("version", 1)
                    self.version = v if isinstance(v, int) and v >= 1 else 1
                    return obj
                if "skipped" in obj or "error" in obj:
                    return obj
                raise AdapterError("unexpected handshake reply %r" % line[:300])
        except TimeoutError:
            raise AdapterError("no handshake reply within %.0f s" % self.timeout)

    def stderr_tail(self, n=400):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - n))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def _send(self, obj):
        try:
            self.proc.stdin.write((json.dumps(obj) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise AdapterError("adapter stdin closed: %s" % e)

    def command(self, cmd, args=None, on_event=None, timeout=None):
        if self.hung:
            return Reply("timeout", message="adapter no longer answers")
        self.seq += 1
        seq = self.seq
        msg = {"seq": seq, "cmd": cmd}
        msg.update(args or {})
        self._send(msg)
        deadline = time.monotonic() + (timeout or self.timeout)
        events = []
        while True:
            try:
                line = self.reader.readline(deadline)
            except TimeoutError:
                r = Reply("timeout", message="no reply within deadline")
                r.events = events
                r.abandoned = True
                self.hung = True
                return r
            if line is None:
                r = Reply(
                    "error", kind="crashed", message="adapter exited (status %s)" % self.proc.poll()
                )
                r.events = events
                self.hung = True
                return r
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                raise AdapterError(
                    "adapter wrote a line on stdout that is not a JSON object "
                    "(logs belong on stderr): %r" % line[:300]
                )
            if "event" in obj:
                events.append((now_ms(), obj))
                if on_event:
                    new_deadline = on_event(obj)
                    if new_deadline is not None:
                        deadline = min(deadline, new_deadline)
                continue
            if obj.get("seq") != seq:
                raise AdapterError("reply seq %r, expected %d" % (obj.get("seq"), seq))
            r = Reply.from_json(obj)
            r.events = events
            return r

    def stop(self):
        if not self.proc:
            return
        if not self.hung and self.proc.poll() is None:
            try:
                self._send({"cmd": "stop"})
                self.proc.stdin.close()
                self.proc.wait(timeout=3)
            except (AdapterError, subprocess.TimeoutExpired, OSError):
                pass
        _kill_group(self.proc)
        self._stderr.close()


class OneShotAdapter:
    """An adapter that is started once per command: `ADAPTER COMMAND [--flag value]...`,
    configuration in TWOBA_* environment variables, exit status as the reply."""

    transport = "cli"

    def __init__(self, argv, stderr_path, timeout=30.0, env=None):
        self.argv = argv
        self.stderr_path = stderr_path
        self.timeout = timeout
        self.base_env = env if env is not None else adapter_environment()
        self.env = None
        self.implementation = {}
        self.version = 1  # `info` answers RESULT {"version": 2, ...} for version 2
        self.hung = False

    def start(self, config):
        env = dict(self.base_env)
        for key, var in ENV_KEYS.items():
            env.pop(var, None)
            if config.get(key) is not None:
                env[var] = str(config[key])
        self.env = env
        key = tuple(self.argv)
        if key not in _INFO_CACHE:  # implementation metadata: one `info` per kit run
            r = self.command("info", timeout=10)
            _INFO_CACHE[key] = r.data if r.ok else {}
        info = dict(_INFO_CACHE[key])
        # "version" in info's RESULT is the client's own version; "protocol" the adapter's.
        proto = info.pop("protocol", 1)
        self.version = proto if isinstance(proto, int) and proto >= 1 else 1
        self.implementation = info
        return {"ready": True, "version": self.version}

    def command(self, cmd, args=None, on_event=None, timeout=None):
        args = dict(args or {})
        argv = list(self.argv) + [cmd]
        stdin_data = b""
        if "password" in args:
            stdin_data = (args.pop("password") + "\n").encode()
        for k, v in args.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        with open(self.stderr_path, "ab") as err:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env=self.env,
                    start_new_session=True,
                )
            except OSError as e:
                raise AdapterError("cannot start the adapter %s: %s" % (shlex.join(argv), e))
            try:
                proc.stdin.write(stdin_data)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            reader = _LineReader(proc.stdout)
            deadline = time.monotonic() + (timeout or self.timeout)
            events, data, out_lines = [], {}, []
            try:
                while True:
                    line = reader.readline(deadline)
                    if line is None:
                        break
                    out_lines.append(line)
                    ev = None
                    if line.startswith("AUTHORIZE "):
                        ev = {"event": "authorize", "url": line.split(None, 1)[1].strip()}
                    elif line.strip() == "CREDENTIALS_ENTERED":
                        ev = {"event": "credentials_entered"}
                    elif line.startswith("RESULT "):
                        try:
                            data = json.loads(line[7:])
                        except ValueError:
                            pass
                    if ev:
                        events.append((now_ms(), ev))
                        if on_event:
                            nd = on_event(ev)
                            if nd is not None:
                                deadline = min(deadline, nd)
                remaining = max(0.1, deadline - time.monotonic())
                code = proc.wait(timeout=remaining)
            except (TimeoutError, subprocess.TimeoutExpired):
                _kill_group(proc)
                r = Reply("timeout", message="no exit within deadline; process killed")
                r.events = events
                r.abandoned = True
                return r
        if code == 0:
            r = Reply("ok", data=data)
        elif code == EXIT_UNSUPPORTED:
            r = Reply("skipped", kind="unsupported (exit 127)")
        else:
            # RESULT {"message": …} carries the client's own words, as in JSON lines.
            msg = data.get("message") if isinstance(data.get("message"), str) else None
            r = Reply(
                "error",
                kind=EXIT_KINDS.get(code, "other"),
                message="exit status %d%s" % (code, ": " + msg if msg else ""),
                data=data,
            )
        r.events = events
        return r

    def stop(self):
        pass


BUNDLED = {
    "reference": "cli:{adapters}/reference",
    "curl": "cli:{adapters}/curl-client.sh",
    "requests-oauthlib": "jsonl:/usr/bin/python3 {adapters}/oauthlib_adapter.py",
    "example": "jsonl:/usr/bin/python3 {adapters}/example_adapter.py",
    "authlib": "jsonl:/usr/bin/python3 {adapters}/authlib_adapter.py",
    "x-oauth2": "jsonl:{adapters}/x-oauth2/run",
    "openid-client": "jsonl:{adapters}/openid-client/run",
    "php-guzzle": "jsonl:{adapters}/php-guzzle/run",
    "csharp-2ba-sample": "jsonl:{adapters}/csharp-2ba-sample/run",
    "badgateway": "jsonl:{adapters}/badgateway/run",
    "simple-oauth2": "jsonl:{adapters}/simple-oauth2/run",
    "java-google-oauth": "jsonl:{adapters}/java-google-oauth/run",
    # The fix variants: the same adapters with the fix COMPATIBILITY.md recommends switched on.
    "requests-oauthlib+fix": "jsonl:/usr/bin/python3 {adapters}/oauthlib_adapter.py --fix",
    "authlib+fix": "jsonl:/usr/bin/python3 {adapters}/authlib_adapter.py --fix",
    "x-oauth2+fix": "jsonl:{adapters}/x-oauth2/run --fix",
    "openid-client+fix": "jsonl:{adapters}/openid-client/run --fix",
    "php-guzzle+fix": "jsonl:{adapters}/php-guzzle/run --fix",
    "csharp-2ba-sample+fix": "jsonl:{adapters}/csharp-2ba-sample/run --fix",
    "badgateway+fix": "jsonl:{adapters}/badgateway/run --fix",
    "simple-oauth2+fix": "jsonl:{adapters}/simple-oauth2/run --fix",
    "java-google-oauth+fix": "jsonl:{adapters}/java-google-oauth/run --fix",
}


def adapters_dir():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "adapters"))


def parse_client(spec):
    """'reference' | 'cli:CMD' | 'jsonl:CMD' | 'CMD' (JSON lines) -> (transport, argv, name)."""
    name = None
    if spec in BUNDLED:
        name = spec
        spec = BUNDLED[spec].format(adapters=adapters_dir())
    transport = "jsonl"
    for prefix in ("cli:", "jsonl:"):
        if spec.startswith(prefix):
            transport = prefix[:-1]
            spec = spec[len(prefix) :]
    argv = shlex.split(spec)
    if not argv:
        raise ValueError("empty --client")
    return transport, argv, name


def make_adapter(transport, argv, stderr_path, timeout, env=None):
    cls = JsonlAdapter if transport == "jsonl" else OneShotAdapter
    return cls(argv, stderr_path, timeout, env)
