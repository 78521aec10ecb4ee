"""The pytest plugin (kit/pytest_plugin.py), run inside pytest's own pytester: a partner's test
file using the `twoba_mock` fixture, with a real mock_server ($TWOBA_MOCK_SERVER or the build).

Run: python3 -m pytest -p pytester conformance/plugin_tests (ctest conformance.pytest_plugin)."""

import os
import sys

import pytest

KIT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, KIT)

from kit import mockserver  # noqa: E402

PLUGIN = ("-p", "kit.pytest_plugin")
# The image for test_the_image_instead_of_a_binary; the other tests start the binary.
IMAGE = os.environ.get("TWOBA_MOCK_IMAGE", "localhost/twoba-mock:test")


@pytest.fixture(autouse=True)
def _binary_unless_told(monkeypatch):
    monkeypatch.delenv("TWOBA_MOCK_IMAGE", raising=False)


# What a partner writes: log in, jump past the refresh token's 14 days, see the 400 and the journal.
PARTNER_TEST = """
import requests

FORM = {"client_id": "demo-client", "client_secret": "demo-secret"}

def token(mock, **form):
    return requests.post(mock.token_url, data={**FORM, **form}, timeout=10)

def test_refresh_token_expires_after_14_days(twoba_mock):
    first = token(twoba_mock, grant_type="password", username="demo", password="demo")
    assert first.status_code == 200, first.text
    twoba_mock.clock.advance(15 * 24 * 3600)
    second = token(twoba_mock, grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    statuses = [e["status"] for e in twoba_mock.journal.entries(path="/OAuth/Token")]
    assert statuses == [200, 400]

def test_a_queued_fault_answers_once(twoba_mock):
    ids = twoba_mock.faults.add("/OAuth/Token", grant_type="password", status=503,
                                headers={"Retry-After": "2"}, times=1)
    assert len(ids) == 1 and len(twoba_mock.faults.list()) == 1
    busy = token(twoba_mock, grant_type="password", username="demo", password="demo")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert token(twoba_mock, grant_type="password", username="demo", password="demo").status_code == 200

def test_revoked_user_must_log_in_again(twoba_mock):
    rt = token(twoba_mock, grant_type="password", username="demo", password="demo").json()["refresh_token"]
    assert twoba_mock.tokens.revoke(user="demo") >= 1
    assert token(twoba_mock, grant_type="refresh_token", refresh_token=rt).status_code == 400
"""


def test_partner_test_passes_with_the_fixture(pytester):
    pytester.makepyfile(test_partner=PARTNER_TEST)
    result = pytester.runpytest(*PLUGIN, "-q")
    result.assert_outcomes(passed=3)


def test_a_broken_expectation_fails(pytester):
    """The fixture's mock really answers: expecting a 200 after the 15-day jump fails."""
    pytester.makepyfile(
        test_partner=PARTNER_TEST.replace(
            "assert second.status_code == 400", "assert second.status_code == 200"
        )
    )
    result = pytester.runpytest(*PLUGIN, "-q")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*assert 400 == 200*"])


ISOLATION_TEST = """
import requests

def test_first(twoba_mock):
    requests.post(twoba_mock.token_url, data={"grant_type": "password"}, timeout=10)
    twoba_mock.clock.advance(3600)
    open("urls.txt", "a").write(twoba_mock.server_url + "\\n")

def test_second(twoba_mock):
    # Whatever test_first did is gone: a fresh mock, or the shared one reset.
    assert len(twoba_mock.journal) == 0
    assert twoba_mock.clock.now() < {now} + 600
    open("urls.txt", "a").write(twoba_mock.server_url + "\\n")
"""


@pytest.mark.parametrize("scope, distinct", [("function", 2), ("session", 1)])
def test_each_test_starts_clean_in_either_scope(pytester, scope, distinct):
    import time

    pytester.makepyfile(test_iso=ISOLATION_TEST.replace("{now}", str(int(time.time()))))
    result = pytester.runpytest(*PLUGIN, "-q", "--twoba-mock-scope", scope)
    result.assert_outcomes(passed=2)
    urls = (pytester.path / "urls.txt").read_text().split()
    assert len(urls) == 2 and len(set(urls)) == distinct


def test_the_marker_chooses_the_scenario(pytester):
    pytester.makepyfile(
        test_scenario="""
import pytest, requests

@pytest.mark.twoba_scenario("fast-expiry")
def test_fast(twoba_mock):
    assert twoba_mock.base.endswith("/s/fast-expiry")
    assert twoba_mock.api_base == twoba_mock.base + "/1/json"
    reply = requests.post(twoba_mock.token_url, timeout=10, data={
        "grant_type": "password", "username": "demo", "password": "demo",
        "client_id": "demo-client", "client_secret": "demo-secret"}).json()
    assert reply["expires_in"] == 5
    twoba_mock.clock.advance(61)
    assert requests.post(twoba_mock.token_url, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": reply["refresh_token"],
        "client_id": "demo-client", "client_secret": "demo-secret"}).status_code == 400

def test_default(twoba_mock):
    assert twoba_mock.base == twoba_mock.server_url
"""
    )
    result = pytester.runpytest(*PLUGIN, "-q")
    result.assert_outcomes(passed=2)
    pytester.runpytest(*PLUGIN, "--markers").stdout.fnmatch_lines(["*twoba_scenario(name)*"])


def test_a_missing_binary_names_the_path_and_the_install(pytester):
    pytester.makepyfile(test_partner=PARTNER_TEST)
    result = pytester.runpytest(*PLUGIN, "-q", "--twoba-mock-server", "/nonexistent/mock_server")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*twoba_mock: --twoba-mock-server /nonexistent/mock_server: no executable file there; "
            "install the mock (apt install ./twoba-mock_*.deb puts mock_server on PATH)*"
        ]
    )


def test_no_binary_anywhere_says_where_it_looked(pytester, monkeypatch, tmp_path):
    monkeypatch.delenv("TWOBA_MOCK_SERVER", raising=False)
    monkeypatch.delenv("TWOBA_MOCK_IMAGE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(mockserver, "repo_root", lambda: str(tmp_path))  # no build tree
    pytester.makepyfile(test_partner=PARTNER_TEST)
    result = pytester.runpytest(*PLUGIN, "-q")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*twoba_mock: no mock_server on PATH, in TWOBA_MOCK_SERVER or in a build tree; install the mock*"
        ]
    )


def test_the_image_instead_of_a_binary(pytester, monkeypatch, tmp_path):
    """--twoba-mock-image: the same partner test against the container image (podman or docker).
    Uses the image install.container and integrations.node_testcontainers build."""
    import shutil
    import subprocess

    image = IMAGE
    tool = shutil.which("podman") or shutil.which("docker")
    if not tool:
        pytest.skip("neither podman nor docker is installed (ci/install-deps installs podman)")
    if subprocess.run([tool, "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.skip(
            "no image %s: ctest -R install.container builds it (or set TWOBA_MOCK_IMAGE)" % image
        )
    if tool.endswith("podman"):
        # runc cannot raise RLIMIT_NOFILE above this machine's hard limit (podman's default is
        # higher): the limits install.container passes with --ulimit, as podman's defaults.
        import resource

        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        conf = tmp_path / "containers.conf"
        conf.write_text(
            '[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=32768:32768"]\n'
            % (nofile, nofile)
        )
        monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    pytester.makepyfile(test_partner=PARTNER_TEST)
    result = pytester.runpytest(
        *PLUGIN, "-q", "--twoba-mock-image", image, "--twoba-mock-scope", "session"
    )
    result.assert_outcomes(passed=3)
