"""Starting mock_server instances, the paths they serve, and talking to their control API."""

from __future__ import annotations

import functools
import json
import os
import posixpath
import select
import shutil
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from typing import Optional

import requests

# Where the mock serves its OpenAPI document: the one path of the mock the kit has to know.
# Every other (the token and authorization endpoints under each spelling, the product API,
# the control API) is read from that document once per mock (MockPaths).
OPENAPI_PATH = "/__mock/openapi.json"

# The endpoint spellings of 2BA's documentation, which the kit gives a client to use. The mock
# serves each under a second, OpenID Connect spelling too (/connect/token, /connect/authorize:
# what its discovery document names), and neither document can say which spelling 2BA
# documents; so these stay constants, checked against the OpenAPI document when it is read.
TOKEN_PATH = "/OAuth/Token"
AUTHORIZE_PATH = "/OAuth/Authorize"


@dataclass(frozen=True)
class MockPaths:
    """The mock's paths (relative to a scenario's base), read from its OpenAPI document."""

    token: frozenset[str]  # every spelling of the token endpoint, lower case
    authorize: frozenset[str]  # every spelling of the authorization endpoint, lower case
    product: str  # the product API's prefix ("/1/json")
    control: str  # the control API's prefix ("/__mock")

    @classmethod
    def from_openapi(cls, doc: dict) -> MockPaths:
        """By the operations' tags: "token", "authorize" (of which only the paths that take an
        authorization request, with response_type: the mock's base URL "/" is tagged so too,
        as a redirect target), "product" and "control" (each prefix: what their paths share)."""
        tagged: dict[str, set[str]] = {}
        requests_authorization = set()
        for path, item in doc["paths"].items():
            for op in item.values():
                if not isinstance(op, dict):
                    continue
                for tag in op.get("tags", []):
                    tagged.setdefault(tag, set()).add(path)
                if any(p.get("name") == "response_type" for p in op.get("parameters", [])):
                    requests_authorization.add(path)
        paths = cls(
            frozenset(p.lower() for p in tagged.get("token", ())),
            frozenset(p.lower() for p in tagged.get("authorize", set()) & requests_authorization),
            _common_prefix(tagged.get("product")),
            _common_prefix(tagged.get("control")),
        )
        if TOKEN_PATH.lower() not in paths.token or AUTHORIZE_PATH.lower() not in paths.authorize:
            raise ValueError(
                "the mock's OpenAPI document has no %s or %s (token paths %s, authorize "
                "paths %s)"
                % (TOKEN_PATH, AUTHORIZE_PATH, sorted(paths.token), sorted(paths.authorize))
            )
        return paths

    @classmethod
    def fetch(cls, server_url: str, http: Optional[requests.Session] = None) -> MockPaths:
        """Reads the OpenAPI document of the mock at server_url."""
        if http is None:
            http = requests.Session()
            http.trust_env = False
        r = http.get(server_url.rstrip("/") + OPENAPI_PATH, timeout=10)
        r.raise_for_status()
        return cls.from_openapi(r.json())

    def is_token(self, path: str) -> bool:
        return _endpoint(path).rstrip("/") in self.token

    def is_authorize(self, path: str) -> bool:
        return _endpoint(path).rstrip("/") in self.authorize

    def is_api(self, path: str) -> bool:
        return _endpoint(path).startswith(self.product.lower() + "/")

    def client_urls(self, base: str) -> dict[str, str]:
        """The endpoint URLs of the adapter configuration for a scenario at `base`."""
        return {
            "token_url": base + TOKEN_PATH,
            "authorize_url": base + AUTHORIZE_PATH,
            "api_base": base,
            "product_api_base": base + self.product,
        }


def _common_prefix(paths: Optional[set[str]]) -> str:
    if not paths:
        raise ValueError("the mock's OpenAPI document lacks a tag the kit needs")
    return (
        posixpath.commonpath(sorted(paths))
        if len(paths) > 1
        else posixpath.dirname(next(iter(paths)))
    )


def _endpoint(path: str) -> str:
    """A journal path as the endpoint tables spell it: no query, no /s/<scenario>, lower case."""
    return strip_scenario(urllib.parse.urlsplit(path).path).lower()


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
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        self.url = self._read_ready(startup_timeout)

    @functools.cached_property
    def paths(self) -> MockPaths:
        """The mock's paths, read once from its OpenAPI document."""
        http = requests.Session()
        http.trust_env = False
        http.verify = False  # a TLS mock of the kit's own certificates: only its paths are read
        return MockPaths.fetch(self.url, http)

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
        raise RuntimeError(
            "mock_server did not print READY: %s %s"
            % (buf.decode(errors="replace"), err.decode(errors="replace"))
        )

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

    def __init__(self, server_url, name, verify=True, paths: Optional[MockPaths] = None):
        self.server_url = server_url.rstrip("/")
        self.name = name
        self.base = "%s/s/%s" % (self.server_url, name) if name else self.server_url
        self.http = requests.Session()
        self.http.verify = verify
        self.http.trust_env = False
        self._paths = paths

    @property
    def paths(self) -> MockPaths:
        """The mock's paths: as given, else read from the mock on first use."""
        if self._paths is None:
            self._paths = MockPaths.fetch(self.server_url, self.http)
        return self._paths

    def _url(self, path):
        return self.base + self.paths.control + path

    def _call(self, method, path, body=None, params=None):
        try:
            r = self.http.request(method, self._url(path), json=body, params=params, timeout=10)
        except requests.ConnectionError:
            # A kept-alive connection the server had just closed: a GET is safe to send again.
            if method != "GET":
                raise
            r = self.http.request(method, self._url(path), json=body, params=params, timeout=10)
        if r.status_code >= 400:
            raise RuntimeError(
                "control API %s %s -> %d %s" % (method, path, r.status_code, r.text[:300])
            )
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
