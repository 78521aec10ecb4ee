"""Process-level tests of the mock_server command line: READY line, exit codes, signals."""
import json
import os
import signal
import subprocess
import urllib.request

import pytest

BINARY = os.environ["MOCK_SERVER"]
FIXTURES = os.environ["FIXTURE_DIR"]


def start(*args):
    proc = subprocess.Popen(
        [BINARY, "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("READY http://127.0.0.1:"), (line, proc.stderr.read())
    return proc, line.split()[1]


def test_ready_line_then_serves_then_sigterm_exits_zero():
    proc, url = start()
    with urllib.request.urlopen(url + "/__mock/health", timeout=5) as reply:
        assert json.load(reply)["status"] == "ok"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_sigint_exits_zero():
    proc, _ = start()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


def test_default_fixture_is_found_without_flags():
    proc, url = start()
    try:
        with urllib.request.urlopen(url + "/__mock/health", timeout=5) as reply:
            assert json.load(reply)["fixture"].endswith("fixtures/default.json")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "unknown option '--bogus'"),
        (["--port", "x"], "--port: expected a number"),
        (["--fixture", "/nonexistent.json"], "/nonexistent.json: cannot open"),
        (["--host", "0.0.0.0"], "needs --admin-token"),
        (["--tls-cert", "/nonexistent.pem"], "--tls-cert and --tls-key go together"),
        (
            ["--https", "--tls-cert", "c.pem", "--tls-key", "k.pem"],
            "give either --https or --tls-cert",
        ),
        (["--https-dir", "/tmp"], "--https-dir goes with --https"),
        (["--control-from", "everywhere"], "--control-from: expected loopback or any"),
    ],
)
def test_bad_flags_exit_2_with_a_message_and_listen_nowhere(args, message):
    result = subprocess.run(
        [BINARY, "--port", "0", *args], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "READY" not in result.stdout


def test_bad_fixture_names_file_and_key(tmp_path):
    fixture = json.load(open(os.path.join(FIXTURES, "default.json")))
    fixture["policy"]["refresh_token_lifetme"] = 5
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(fixture))
    result = subprocess.run(
        [BINARY, "--port", "0", "--fixture", str(path)], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 2
    assert f"{path}: policy.refresh_token_lifetme: unknown key" in result.stderr


def test_port_in_use_exits_1():
    proc, url = start()
    try:
        port = url.rsplit(":", 1)[1]
        result = subprocess.run(
            [BINARY, "--port", port], capture_output=True, text=True, timeout=10
        )
        assert result.returncode == 1
        assert "cannot listen" in result.stderr
        assert "--port 0 takes a free port" in result.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_help_and_version():
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=10)
    assert help_text.returncode == 0 and "--fixture FILE" in help_text.stdout
    version = subprocess.run([BINARY, "--version"], capture_output=True, text=True, timeout=10)
    assert version.returncode == 0 and version.stdout.startswith("mock_server ")


def test_request_log_never_shows_secrets():
    proc = subprocess.Popen(
        [BINARY, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = proc.stdout.readline().split()[1]
    body = b"grant_type=password&username=demo&password=demo&client_id=demo-client&client_secret=demo-secret"
    with urllib.request.urlopen(
        urllib.request.Request(url + "/OAuth/Token", data=body), timeout=5
    ) as reply:
        token = json.load(reply)["access_token"]
    proc.terminate()
    _, log = proc.communicate(timeout=10)
    assert "POST /OAuth/Token 200" in log
    for secret in ("demo-secret", token, "password=demo"):
        assert secret not in log


def test_https_serves_with_a_local_ca_that_verifying_clients_trust(tmp_path):
    import requests

    proc = subprocess.Popen(
        [BINARY, "--port", "0", "--quiet", "--https", "--https-dir", str(tmp_path / "tls")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, ca_line = proc.stdout.readline(), proc.stdout.readline()
        assert ready.startswith("READY https://127.0.0.1:"), (ready, proc.stderr.read())
        assert ca_line == "CA-FILE %s\n" % (tmp_path / "tls" / "ca.pem")
        url, ca = ready.split()[1], ca_line.split()[1]
        assert requests.get(url + "/__mock/health", verify=ca, timeout=5).json()["status"] == "ok"
        localhost = url.replace("127.0.0.1", "localhost")
        assert requests.get(localhost + "/__mock/health", verify=ca, timeout=5).status_code == 200
        curl = subprocess.run(
            ["curl", "-sS", "--cacert", ca, url + "/__mock/health"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert curl.returncode == 0 and '"status":"ok"' in curl.stdout, curl.stderr
        # Without the CA, a verifying client refuses the certificate.
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "/__mock/health", timeout=5)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_control_from_any_opens_the_control_api_off_loopback():
    proc = subprocess.Popen(
        [BINARY, "--port", "0", "--quiet", "--host", "0.0.0.0", "--control-from", "any"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY http://0.0.0.0:"), (line, proc.stderr.read())
        port = line.strip().rsplit(":", 1)[1]
        request = urllib.request.Request(
            "http://127.0.0.1:%s/__mock/clock" % port,
            data=b'{"advance": 60}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
