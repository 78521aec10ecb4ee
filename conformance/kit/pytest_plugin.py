"""pytest plugin: a `twoba_mock` fixture that starts the 2BA mock for a test and hands it over
with its URLs and its control API (clock, faults, tokens, journal).

Load it with `-p kit.pytest_plugin` (the kit's folder on PYTHONPATH: `conformance/` in the
source tree, `<prefix>/share/twoba-mock/conformance` installed) or a conftest.py line
`pytest_plugins = ["kit.pytest_plugin"]`.

    def test_refresh_expires(twoba_mock):
        ...  # log in against twoba_mock.token_url
        twoba_mock.clock.advance(15 * 24 * 3600)
        assert twoba_mock.journal.entries(path="/OAuth/Token")[-1]["status"] == 400

    @pytest.mark.twoba_scenario("fast-expiry")
    def test_short_lifetimes(twoba_mock): ...   # twoba_mock.base ends in /s/fast-expiry

Where the mock comes from, first match wins: --twoba-mock-server PATH, $TWOBA_MOCK_SERVER,
then where conformance/run looks: <prefix>/bin beside an installed kit, this source tree's build
(build/dev, build/release), mock_server on PATH. With
--twoba-mock-image IMAGE (or $TWOBA_MOCK_IMAGE) the container image runs instead, through
podman or docker. Scope: a fresh mock per test (the default; a start costs tens of
milliseconds), or --twoba-mock-scope session for one mock shared by the run, reset before each
test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import pytest

from kit.mockserver import AUTHORIZE_PATH, TOKEN_PATH, MockProcess, Scenario, find_mock_binary

MARKER = "twoba_scenario"
INSTALL_HINT = (
    "install the mock (apt install ./twoba-mock_*.deb puts mock_server on PATH), build it "
    "(ci/start-mock in the mock's source tree), point at it with --twoba-mock-server PATH or "
    "TWOBA_MOCK_SERVER=PATH, or run the image with --twoba-mock-image IMAGE"
)


class MockNotFound(Exception):
    """No mock_server to start; the message says where the plugin looked and what to do."""


def find_mock_server(explicit: Optional[str] = None) -> str:
    """The mock binary: an explicit path or $TWOBA_MOCK_SERVER (either must exist), else the
    kit's search (find_mock_binary)."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return os.path.abspath(explicit)
        raise MockNotFound(
            "--twoba-mock-server %s: no executable file there; %s" % (explicit, INSTALL_HINT)
        )
    from_env = os.environ.get("TWOBA_MOCK_SERVER")
    if from_env:
        if os.path.isfile(from_env) and os.access(from_env, os.X_OK):
            return os.path.abspath(from_env)
        raise MockNotFound(
            "TWOBA_MOCK_SERVER=%s: no executable file there; %s" % (from_env, INSTALL_HINT)
        )
    found = find_mock_binary()  # the kit's own search: beside an installed kit, the build, PATH
    if found:
        return found
    raise MockNotFound(
        "no mock_server on PATH, in TWOBA_MOCK_SERVER or in a build tree; " + INSTALL_HINT
    )


@dataclass
class Clock:
    """The mock's virtual clock (POST/GET /__mock/clock)."""

    control: Scenario

    def now(self) -> int:
        """Virtual unix seconds."""
        return self.control.clock()["now"]

    def advance(self, seconds: float) -> dict:
        """Moves the clock forward (or back, negative); timed events that fall due fire."""
        return self.control.advance(seconds)

    def set(self, unix_seconds: float) -> dict:
        return self.control._call("POST", "/clock", {"set": unix_seconds})

    def freeze(self, frozen: bool = True) -> dict:
        return self.control._call("POST", "/clock", {"frozen": frozen})


@dataclass
class Faults:
    """Queued faults (POST/GET/DELETE /__mock/faults); keys as in the FaultRequest schema."""

    control: Scenario

    def add(self, path: str, **fault: Any) -> list:
        """Queues one fault, e.g. add("/OAuth/Token", grant_type="refresh_token", status=503,
        headers={"Retry-After": "2"}, times=1); returns its id(s)."""
        return self.control.fault(path=path, **fault)["ids"]

    def list(self) -> list:
        return self.control._call("GET", "/faults")["faults"]

    def clear(self) -> None:
        self.control.clear_faults()


@dataclass
class Tokens:
    """Issued tokens; revoke or expire them by exactly one of token, user, client or grant."""

    control: Scenario

    def list(self, **query: str) -> list:
        """The grants (logins) with their tokens; query: user=… or client=…."""
        return self.control.tokens(**query)["grants"]

    def revoke(self, **selector: Any) -> int:
        return self.control.revoke(**selector)["affected"]

    def expire(self, **selector: Any) -> int:
        return self.control.expire(**selector)["affected"]


@dataclass
class Journal:
    """Every request the mock served (control requests excepted), oldest first."""

    control: Scenario

    def entries(self, since: int = 0, path: Optional[str] = None) -> list:
        params: dict = {"since": since}
        if path:
            params["path"] = path
        return self.control._call("GET", "/requests", params=params)["requests"]

    def clear(self) -> None:
        self.control._call("DELETE", "/requests")

    def __iter__(self) -> Iterator[dict]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self.entries())


@dataclass
class TwoBaMock:
    """A running mock as a test sees it: the URLs to give the code under test, and its control API."""

    server_url: str  # the READY URL
    scenario: Optional[str] = None  # the marker's scenario, served under /s/<scenario>
    control: Scenario = field(init=False, repr=False)
    clock: Clock = field(init=False, repr=False)
    faults: Faults = field(init=False, repr=False)
    tokens: Tokens = field(init=False, repr=False)
    journal: Journal = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.control = Scenario(self.server_url, self.scenario)
        self.clock, self.faults = Clock(self.control), Faults(self.control)
        self.tokens, self.journal = Tokens(self.control), Journal(self.control)

    @property
    def base(self) -> str:
        """The authorize base: where the code under test would use https://authorize.2ba.nl."""
        return self.control.base

    @property
    def token_url(self) -> str:
        return self.base + TOKEN_PATH

    @property
    def authorize_url(self) -> str:
        return self.base + AUTHORIZE_PATH

    @property
    def api_base(self) -> str:
        """The product API base; product paths (/Product/…) go after it."""
        return self.base + self.control.paths.product

    def reset(self) -> None:
        """Back to the fixture's start: tokens, clock, faults and journal."""
        self.control.reset()


class ContainerMock:
    """The mock's image run by podman or docker on a published loopback port."""

    def __init__(self, image: str, startup_timeout: float = 60.0):
        tool = shutil.which("podman") or shutil.which("docker")
        if not tool:
            raise MockNotFound(
                "--twoba-mock-image %s: neither podman nor docker is installed" % image
            )
        self.tool = tool
        self.container = subprocess.run(
            [tool, "run", "-d", "--rm", "-p", "127.0.0.1::8080", image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            logs = subprocess.run(
                [tool, "logs", self.container], capture_output=True, text=True
            ).stdout
            if any(line.startswith("READY ") for line in logs.splitlines()):
                port = (
                    subprocess.run(
                        [tool, "port", self.container, "8080"],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    .stdout.split(":")[-1]
                    .strip()
                )
                self.url = "http://127.0.0.1:%s" % port
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            "the image %s printed no READY line in %.0f s" % (image, startup_timeout)
        )

    def stop(self) -> None:
        subprocess.run([self.tool, "stop", "-t", "10", self.container], capture_output=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twoba-mock", "2BA OAuth mock (the twoba_mock fixture)")
    group.addoption("--twoba-mock-server", metavar="PATH", help="the mock_server binary to start")
    group.addoption(
        "--twoba-mock-image",
        metavar="IMAGE",
        help="run this container image (podman or docker) instead of a binary",
    )
    group.addoption(
        "--twoba-mock-fixture",
        metavar="FILE",
        help="the fixture file the mock starts on (default: its default.json)",
    )
    group.addoption(
        "--twoba-mock-scope",
        choices=("function", "session"),
        help="a fresh mock per test (function, the default) or one per run (session)",
    )
    parser.addini(
        "twoba_mock_scope", "function or session (see --twoba-mock-scope)", default="function"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "%s(name): serve the test the mock's scenario NAME (fixtures/NAME.json, under "
        "/s/NAME)" % MARKER,
    )


def _scope(fixture_name: str, config: pytest.Config) -> str:
    return config.getoption("--twoba-mock-scope") or config.getini("twoba_mock_scope")


class _Server:
    """One started mock (binary or image), whatever its source."""

    def __init__(self, config: pytest.Config):
        image = config.getoption("--twoba-mock-image") or os.environ.get("TWOBA_MOCK_IMAGE")
        if image:
            self.process: Any = ContainerMock(image)
        else:
            binary = find_mock_server(config.getoption("--twoba-mock-server"))
            fixture = config.getoption("--twoba-mock-fixture")
            if fixture:
                self.process = MockProcess(binary, fixture)
            else:
                self.process = _DefaultFixtureProcess(binary)
        self.url = self.process.url

    def stop(self) -> None:
        self.process.stop()


class _DefaultFixtureProcess(MockProcess):
    """MockProcess without --fixture: the mock finds its own default.json (installed or built)."""

    def __init__(self, binary: str, startup_timeout: float = 15.0):
        self.args = [binary, "--port", "0", "--quiet"]
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        self.url = self._read_ready(startup_timeout)


@pytest.fixture(scope=_scope)
def _twoba_mock_server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    try:
        server = _Server(request.config)
    except MockNotFound as e:
        pytest.fail("twoba_mock: %s" % e, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def twoba_mock(request: pytest.FixtureRequest, _twoba_mock_server: _Server) -> TwoBaMock:
    """A running 2BA mock: .base, .token_url, .api_base, .clock, .faults, .tokens, .journal."""
    marker = request.node.get_closest_marker(MARKER)
    scenario = marker.args[0] if marker and marker.args else None
    mock = TwoBaMock(_twoba_mock_server.url, scenario)
    if _scope("twoba_mock", request.config) == "session":
        mock.reset()  # a shared mock: every test starts from the fixture's beginning
    return mock
