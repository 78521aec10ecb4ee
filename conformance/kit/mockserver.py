"""Starting mock_server instances and talking to their control API."""

import json
import os
import select
import shutil
import signal
import subprocess
import time
import urllib.parse

import requests

TOKEN_PATHS = ("/oauth/token", "/connect/token")


def find_mock_binary(explicit=None):
    """The mock binary: an explicit path, $TWOBA_MOCK_SERVER, the installed one beside the kit
    (<prefix>/bin when the kit is <prefix>/share/twoba-mock/conformance), the usual build trees,
    or mock_server on PATH."""
    candidates = [explicit, os.environ.get("TWOBA_MOCK_SERVER")]
    root = repo_root()
    if os.path.basename(root) == "twoba-mock":
        candidates.append(os.path.join(root, "..", "..", "bin", "mock_server"))
    for preset in ("dev", "release"):
        candidates.append(os.path.join(root, "build", preset, "mock_server", "mock_server"))
    candidates.append(shutil.which("mock_server"))
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def fixtures_dir():
    return os.environ.get("TWOBA_FIXTURES_DIR") or os.path.join(repo_root(), "fixtures")


class MockProcess:
    """One mock_server process on a free loopback port; stopped with SIGTERM."""

    def __init__(self, binary, fixture, tls_cert=None, tls_key=None, startup_timeout=15.0):
        args = [binary, "--fixture", fixture, "--port", "0", "--quiet"]
        if tls_cert:
            args += ["--tls-cert", tls_cert, "--tls-key", tls_key]
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.url = self._read_ready(startup_timeout)

    def _read_ready(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
                for line in buf.decode(errors="replace").splitlines():
                    if line.startswith("READY "):
                        return line.split(None, 1)[1].strip()
            elif self.proc.poll() is not None:
                break
        err = b""
        if self.proc.poll() is not None:
            err = self.proc.stderr.read()
        self.stop()
        raise RuntimeError("mock_server did not print READY: %s %s"
                           % (buf.decode(errors="replace"), err.decode(errors="replace")))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Scenario:
    """Control-API client for one scenario of a running mock (base URL .../s/<name>)."""

    def __init__(self, server_url, name, verify=True):
        self.server_url = server_url.rstrip("/")
        self.name = name
        self.base = "%s/s/%s" % (self.server_url, name) if name else self.server_url
        self.http = requests.Session()
        self.http.verify = verify
        self.http.trust_env = False

    def _url(self, path):
        return self.base + "/__mock" + path

    def _call(self, method, path, body=None, params=None):
        try:
            r = self.http.request(method, self._url(path), json=body, params=params, timeout=10)
        except requests.ConnectionError:
            # A kept-alive connection the server had just closed: a GET is safe to send again.
            if method != "GET":
                raise
            r = self.http.request(method, self._url(path), json=body, params=params, timeout=10)
        if r.status_code >= 400:
            raise RuntimeError("control API %s %s -> %d %s" % (method, path, r.status_code, r.text[:300]))
        return r.json() if r.content else {}

    def health(self):
        return self._call("GET", "/health")

    def reset(self):
        return self._call("POST", "/reset")

    def clock(self):
        return self._call("GET", "/clock")

    def advance(self, seconds):
        return self._call("POST", "/clock", {"advance": seconds})

    def journal(self, since=0):
        """Entries with seq >= since (the journal is returned whole, not paged)."""
        return self._call("GET", "/requests", params={"since": since}).get("requests", [])

    def next_seq(self):
        # `since` beyond the end returns no entries, only next_seq.
        return self._call("GET", "/requests", params={"since": "9" * 18}).get("next_seq", 0)

    def fault(self, **fault):
        return self._call("POST", "/faults", fault)

    def clear_faults(self):
        return self._call("DELETE", "/faults")

    def tokens(self, **query):
        return self._call("GET", "/tokens", params=query)

    def revoke(self, **target):
        return self._call("POST", "/tokens/revoke", target)

    def expire(self, **target):
        return self._call("POST", "/tokens/expire", target)

    def issue_code(self, **req):
        return self._call("POST", "/codes", req)


def load_fixture(name):
    with open(os.path.join(fixtures_dir(), name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def strip_scenario(path):
    """'/s/<name>/OAuth/Token' -> '/OAuth/Token'."""
    if path.startswith("/s/"):
        rest = path[3:]
        i = rest.find("/")
        return rest[i:] if i >= 0 else "/"
    return path


def is_token_path(path):
    return strip_scenario(urllib.parse.urlsplit(path).path).lower().rstrip("/") in TOKEN_PATHS


def is_api_path(path):
    return strip_scenario(urllib.parse.urlsplit(path).path).lower().startswith("/1/json/")


def is_authorize_path(path):
    return strip_scenario(urllib.parse.urlsplit(path).path).lower().rstrip("/") == "/oauth/authorize"
