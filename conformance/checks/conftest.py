"""pytest glue of the conformance kit: the --kit-* options, the `kit` fixture, selection by
profile/--only/shard and the report of setup errors. The engine is kit/runner.py."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from kit.catalog import Check, Verdict  # noqa: E402
from kit.runner import KitRunner, RunOptions, SetupError  # noqa: E402


def pytest_addoption(parser):
    g = parser.getgroup("kit", "2BA conformance kit")
    g.addoption("--kit-client", default=None, help="adapter: reference | cli:CMD | jsonl:CMD | CMD")
    g.addoption("--kit-name", default=None, help="name of the client in reports")
    g.addoption("--kit-profile", default="2ba", choices=["2ba", "rfc6749", "bcp"])
    g.addoption("--kit-strict", action="store_true")
    g.addoption("--kit-only", action="append", default=[])
    g.addoption("--kit-report", default=None, help="directory for per-check JSON records")
    g.addoption("--kit-server", default=None, help="use a running mock instead of starting one")
    g.addoption("--kit-mock", default=None, help="mock_server binary")
    g.addoption("--kit-wait", type=float, default=1.0, help="expect-nothing wait T in seconds")
    g.addoption("--kit-timeout", type=float, default=30.0, help="per-command timeout in seconds")
    g.addoption("--kit-shard", default=None, help="i/N: run the i-th of N groups of flows")
    g.addoption(
        "--kit-pass-env", action="append", default=[], help="pass this variable to adapters"
    )
    g.addoption("--kit-width", type=int, default=0, help="console width for progress lines")


def _options(config) -> RunOptions:
    opt = config.getoption
    shard = opt("--kit-shard")
    return RunOptions(
        client=opt("--kit-client"),
        name=opt("--kit-name"),
        profile=opt("--kit-profile"),
        strict=opt("--kit-strict"),
        only=[s for o in opt("--kit-only") for s in re.split(r"[,\s]+", o) if s],
        report=opt("--kit-report"),
        server=opt("--kit-server"),
        mock=opt("--kit-mock"),
        wait=opt("--kit-wait"),
        timeout=opt("--kit-timeout"),
        shard=tuple(int(x) for x in shard.split("/")) if shard else None,
        pass_env=opt("--kit-pass-env"),
        width=opt("--kit-width"),
    )


class PytestKit:
    """What each check's test gets as `kit`: runs the check, then tells pytest its verdict."""

    def __init__(self, runner: KitRunner):
        self.runner = runner

    def run_check(self, check: Check):
        rec = self.runner.run_check(check)
        if rec.verdict == Verdict.SKIP:
            pytest.skip(rec.reason)
        if rec.verdict == Verdict.ERROR:
            raise RuntimeError(rec.reason)
        if rec.verdict == Verdict.FAIL:
            pytest.fail(
                "; ".join(
                    f.message for f in rec.findings if f.level in (Verdict.FAIL, Verdict.WARN)
                ),
                pytrace=False,
            )


_RUNNER = {}


def pytest_configure(config):
    if config.getoption("--kit-client"):
        try:
            _RUNNER["runner"] = KitRunner(_options(config))
        except SetupError as e:
            raise pytest.UsageError(str(e)) from None


def pytest_collection_modifyitems(config, items):
    if "runner" not in _RUNNER:
        return
    ids = {c.id for c in _RUNNER["runner"].checks()}
    keep, drop = [], []
    for it in items:
        c = getattr(it.function, "kit_check", None)
        (keep if c and c.id in ids else drop).append(it)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


@pytest.fixture(scope="session")
def kit():
    runner = _RUNNER.get("runner")
    if runner is None:
        pytest.skip("not run through conformance/run (no --kit-client)")
    try:
        runner.start()
    except SetupError as e:
        raise pytest.UsageError(str(e)) from None
    yield PytestKit(runner)
    runner.stop()


def pytest_collectreport(report):
    if report.failed:
        sys.stderr.write("collection error in %s:\n%s\n" % (report.nodeid, report.longreprtext))


def pytest_internalerror(excrepr):
    sys.stderr.write("internal error:\n%s\n" % excrepr)


_SETUP_REPORTED = []


def pytest_runtest_logreport(report):
    # Without the terminal plugin a failing session fixture (no mock binary, mock does not start)
    # would pass silently: say it once.
    if report.when == "setup" and report.failed and not _SETUP_REPORTED:
        _SETUP_REPORTED.append(True)
        msg = str(report.longrepr).strip().splitlines()
        sys.stderr.write("kit setup failed: %s\n" % (msg[-1] if msg else "unknown error"))
