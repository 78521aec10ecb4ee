"""The kit judged against small clients of its own (tests/clients/clock_client.py): a client
that refreshes on its own clock passes R32 and R41 when it serialises its refreshes and FAILs
R41 when it does not — with client time (protocol 2) and in the real-time fallback (protocol
1) — and a client that posts any grant after a cancelled login FAILs R23. Run by ctest
(conformance.kit_unit), which provides the mock_server binary."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
KIT = os.path.dirname(HERE)
sys.path.insert(0, KIT)

from kit.mockserver import find_mock_binary  # noqa: E402

CLIENT = os.path.join(HERE, "clients", "clock_client.py")
pytestmark = pytest.mark.skipif(not find_mock_binary(), reason="mock_server binary not built")


def verdicts(tmp_path, flags, only):
    """Runs the kit on the clock client; {check id: verdict} and the run's metadata."""
    cmd = [
        sys.executable,
        os.path.join(KIT, "run"),
        "--client",
        "jsonl:%s %s %s" % (sys.executable, CLIENT, " ".join(flags)),
        "--name",
        "clock",
        "--wait",
        "0.3",
        "--report",
        str(tmp_path),
        "--only",
    ] + only
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    idx = json.loads((tmp_path / "index.json").read_text())
    run = idx["runs"][0]
    return {cid: c["verdict"] for cid, c in run["checks"].items()}, run, proc


@pytest.mark.parametrize("flags, mode", [([], "client"), (["--v1"], "real")])
def test_own_clock_with_a_lock_passes_r32_and_r41(tmp_path, flags, mode):
    v, run, proc = verdicts(tmp_path, flags, ["R32", "R41"])
    assert v["expiry/refresh-on-expiry"] == "PASS", proc.stdout
    assert v["refresh/single-flight"] == "PASS", proc.stdout
    # It never refreshes after a 401: that is the check of its own, not R32's main check.
    assert v["expiry/server-invalidated"] == "WARN", proc.stdout
    assert run["client_time"]["mode"] == mode


@pytest.mark.parametrize("flags", [["--no-lock"], ["--no-lock", "--v1"]])
def test_own_clock_without_a_lock_fails_r41(tmp_path, flags):
    v, run, proc = verdicts(tmp_path, flags, ["R41"])
    assert v["refresh/single-flight"] == "FAIL", proc.stdout
    assert proc.returncode == 1


def test_any_grant_after_a_cancelled_login_fails_r23(tmp_path):
    v, _, proc = verdicts(tmp_path, ["--grant-after-cancel"], ["R23"])
    assert v["code-response/error-handled"] == "FAIL", proc.stdout
    v, _, proc = verdicts(tmp_path / "control", [], ["R23"])
    assert v["code-response/error-handled"] == "PASS", proc.stdout
