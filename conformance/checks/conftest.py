"""pytest plugin of the conformance kit: options, the shared kit environment (mock server,
adapter, flow cache), selection by profile/--only/shard, progress lines and per-check records."""

import importlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from kit import VERSION  # noqa: E402
from kit.adapter import AdapterError, adapter_environment, make_adapter, parse_client  # noqa: E402
from kit.catalog import CHECKS, Blocked, CheckContext, Skip, Verdict  # noqa: E402
from kit.flows import FLOWS, ClientTime, FlowRun  # noqa: E402
from kit.mockserver import MockProcess, find_mock_binary, fixtures_dir  # noqa: E402
importlib.import_module("kit.scenarios")  # registers the flows
from kit import tls  # noqa: E402


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
    g.addoption("--kit-pass-env", action="append", default=[], help="pass this variable to adapters")
    g.addoption("--kit-width", type=int, default=0, help="console width for progress lines")


def selected_checks(profile, only):
    return [c for c in CHECKS.values() if c.in_profile(profile) and c.matches(only)]


def shard_of(checks, n):
    """Groups checks that share a flow and spreads the groups over n shards by flow cost."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for c in checks:
        names = [f.rstrip("?") for f in c.flows]
        for f in names[1:]:
            parent[find(f)] = find(names[0])
    groups = {}
    for c in checks:
        names = [f.rstrip("?") for f in c.flows]
        groups.setdefault(find(names[0]), set()).update(names)
    cost = {g: sum(FLOWS[f].cost for f in fl) for g, fl in groups.items()}
    load = [0.0] * n
    where = {}
    for g in sorted(groups, key=lambda g: (-cost[g], g)):
        i = load.index(min(load))
        load[i] += cost[g]
        where[g] = i
    return {c.id: where[find(c.flows[0].rstrip("?"))] for c in checks}


class KitEnv:
    def __init__(self, config):
        opt = config.getoption
        spec = opt("--kit-client")
        if not spec:
            raise pytest.UsageError("--kit-client is required")
        self.transport, self.argv, bundled = parse_client(spec)
        self.name = opt("--kit-name") or bundled or os.path.basename(self.argv[-1] if self.argv[0].endswith("python3") else self.argv[0])
        self.profile = opt("--kit-profile")
        self.strict = opt("--kit-strict")
        self.wait = opt("--kit-wait")
        self.timeout = opt("--kit-timeout")
        self.report = opt("--kit-report")
        self.width = opt("--kit-width") or shutil.get_terminal_size((150, 24)).columns
        self.adapter_env = adapter_environment(opt("--kit-pass-env"))
        self.workdir = tempfile.mkdtemp(prefix="twoba-kit-")
        # Adapter stderr: kept in the report directory when there is one (ADAPTERS.md).
        self.stderr_path = os.path.join(self.report or self.workdir, "adapter-stderr%s.log" % (
            "" if not opt("--kit-shard") else "-" + opt("--kit-shard").split("/")[0]))
        self._client_time = None
        self._reasons_shown = set()
        self.mock_binary = find_mock_binary(opt("--kit-mock"))
        self.server_url = opt("--kit-server")
        self.mock = None
        self.flows = {}
        self.tls_servers = {}
        self.implementation = {}
        self.out = os.fdopen(os.dup(1), "w", buffering=1)

    def start(self):
        if not self.server_url:
            if not self.mock_binary:
                raise pytest.UsageError("mock_server binary not found: build it or pass --mock")
            self.mock = MockProcess(self.mock_binary, os.path.join(fixtures_dir(), "default.json"))
            self.server_url = self.mock.url

    def stop(self):
        for s in self.tls_servers.values():
            if s.get("proc"):
                s["proc"].stop()
        if self.mock:
            self.mock.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)  # state dirs, TLS keys, probe files

    def client_time(self) -> ClientTime:
        """Probes once whether the adapter can make time pass for the client: protocol version
        2 and `advance_time` with 0 seconds answered ok."""
        if self._client_time is None:
            self._client_time = self._probe_client_time()
            if self.report:
                with open(os.path.join(self.report, "client-time.json"), "w") as f:
                    json.dump({"mode": self._client_time.mode, "reason": self._client_time.reason}, f)
        return self._client_time

    def _probe_client_time(self) -> ClientTime:
        state = tempfile.mkdtemp(prefix="probe-", dir=self.workdir)
        base = self.server_url.rstrip("/") + "/s/default"
        cfg = {"token_url": base + "/OAuth/Token", "authorize_url": base + "/OAuth/Authorize",
               "api_base": base, "product_api_base": base + "/1/json", "client_id": "demo-client",
               "client_secret": "demo-secret", "client_auth": "body", "state_dir": state,
               "ca_file": None, "scope": None}
        a = make_adapter(self.transport, self.argv, self.stderr_path, self.timeout, self.adapter_env)
        try:
            hs = a.start(cfg) or {}
            if "ready" not in hs:
                return ClientTime("real", "the adapter did not start for the probe")
            if a.version < 2:
                return ClientTime("real", "adapter protocol version %d has no advance_time" % a.version)
            r = a.command("advance_time", {"seconds": 0}, timeout=10)
            if r.ok:
                return ClientTime("client", "the adapter advances the client's clock")
            return ClientTime("real", "advance_time answered %s" % r.describe())
        except AdapterError as e:
            return ClientTime("real", "probe failed: %s" % e)
        finally:
            a.stop()

    def tls_server(self, kind):
        """An HTTPS mock whose certificate is good, self-signed or for another host."""
        if kind not in self.tls_servers:
            if not self.mock_binary:
                self.tls_servers[kind] = {"skip": "no mock_server binary to start an HTTPS mock"}
            else:
                certs = tls.make_certificates(os.path.join(self.workdir, "tls"))
                if certs.get("error"):
                    self.tls_servers[kind] = {"skip": certs["error"]}
                else:
                    cert, key = certs[kind]
                    proc = MockProcess(self.mock_binary, os.path.join(fixtures_dir(), "default.json"),
                                       tls_cert=cert, tls_key=key)
                    self.tls_servers[kind] = {"proc": proc, "url": proc.url, "ca": certs["ca"]}
        return self.tls_servers[kind]

    def flow(self, name):
        if name not in self.flows:
            spec = FLOWS[name]
            clock = self.client_time() if spec.real_time_fixture else None
            tls_kind = spec.tls
            if tls_kind:
                srv = self.tls_server(tls_kind)
                if "skip" in srv:
                    run = FlowRun(self, spec)
                    run.skipped = srv["skip"]
                    run.journal = None
                    self.flows[name] = run
                    return run
                ca = srv["ca"] if spec.give_ca else None
                run = FlowRun(self, spec, server_url=srv["url"], ca_file=ca, verify=False)
            else:
                run = FlowRun(self, spec, clock=clock)
            self.flows[name] = run.run()
            if run.adapter and run.adapter.implementation and not self.implementation:
                self.implementation = run.adapter.implementation
        return self.flows[name]

    # --- running one check ----------------------------------------------------------------
    def run_check(self, check):
        ctx = CheckContext(check, self.profile, self.strict)
        t0 = time.monotonic()
        verdict, reason, tb = None, None, None
        runs = []
        try:
            # A flow named "name?" is optional: when it is skipped the check gets None for it.
            for fname in check.flows:
                r = self.flow(fname.rstrip("?"))
                if r.error:
                    raise RuntimeError("flow %s: %s" % (r.name, r.error))
                if r.skipped:
                    if not fname.endswith("?"):
                        raise Skip("%s: %s" % (r.name, r.skipped))
                    runs.append(None)
                    continue
                runs.append(r)
            check.fn(ctx, *runs)
            verdict = ctx.verdict()
            if not ctx.findings:
                verdict, reason = Verdict.ERROR, "check recorded no finding"
        except Skip as e:
            verdict, reason = Verdict.SKIP, str(e)
        except Blocked as e:
            # A violation seen before the check ran out of evidence still stands.
            if ctx.worst() in (Verdict.WARN, Verdict.FAIL):
                verdict = ctx.verdict()
                ctx.info(str(e))
            else:
                verdict, reason = Verdict.BLOCKED, str(e)
        except Exception as e:
            verdict, reason, tb = Verdict.ERROR, "%s: %s" % (type(e).__name__, e), traceback.format_exc()
        dt = time.monotonic() - t0
        self._record(check, ctx, verdict, reason, tb, runs, dt)
        self._progress(check, ctx, verdict, reason, dt)
        if verdict == Verdict.SKIP:
            pytest.skip(reason)
        if verdict == Verdict.ERROR:
            raise RuntimeError(reason)
        if verdict == Verdict.FAIL:
            pytest.fail("; ".join(f.message for f in ctx.findings if f.level in (Verdict.FAIL, Verdict.WARN)),
                        pytrace=False)

    def _progress(self, check, ctx, verdict, reason, dt):
        """One line per check, as wide as the terminal; a long reason repeated by many checks
        (an adapter that cannot start) is printed whole once, then referred to."""
        head = "  %-7s %-44s %-14s %5.2fs" % (verdict, check.id, ",".join(check.catalog_ids), dt)
        text = reason or (_first_bad(ctx) if verdict in (Verdict.FAIL, Verdict.WARN) else "")
        text = (text or "").replace("\n", " ")
        if text and len(text) > 160 and verdict in (Verdict.ERROR, Verdict.BLOCKED, Verdict.SKIP):
            if text in self._reasons_shown:
                text = "(same reason as above)"
            else:
                self._reasons_shown.add(text)
                self.out.write(head + "\n      " + text + "\n")
                return
        room = max(40, self.width - len(head) - 2)
        if len(text) > room:
            text = text[:room - 1] + "…"
        self.out.write(head + ("  " + text if text else "") + "\n")

    def _record(self, check, ctx, verdict, reason, tb, runs, dt):
        if not self.report:
            return
        d = os.path.join(self.report, "checks")
        os.makedirs(d, exist_ok=True)
        rec = {
            "kit_version": VERSION,
            "client": self.name,
            "transport": self.transport,
            "implementation": self.implementation,
            "profile": self.profile,
            "strict": self.strict,
            "check": check.meta(self.profile),
            "verdict": str(verdict),
            "reason": reason,
            "traceback": tb,
            "findings": [f.to_json() for f in ctx.findings],
            "duration_s": round(dt, 3),
            "evidence": [r.evidence() for r in runs if r is not None and r.journal is not None],
            # Where a BLOCKED check's flow was cut short: the report names the FAILs seen there.
            "blocked_at": [{"flow": r.name, "step": st.label, "seq": [st.seq_from, st.seq_to],
                            "reply": st.reply.describe() if st.reply else None}
                           for r in runs if r is not None and verdict == Verdict.BLOCKED
                           for st in [r.failed_step()] if st is not None],
        }
        with open(os.path.join(d, re.sub(r"[^A-Za-z0-9_.-]", "_", check.id) + ".json"), "w") as f:
            json.dump(rec, f, indent=1)


def _first_bad(ctx):
    for lvl in (Verdict.FAIL, Verdict.WARN):
        for f in ctx.findings:
            if f.level == lvl:
                return f.message
    return ""


_ENV = {}


def pytest_configure(config):
    if config.getoption("--kit-client"):
        _ENV["env"] = KitEnv(config)


def pytest_collection_modifyitems(config, items):
    if "env" not in _ENV:
        return
    env = _ENV["env"]
    only = [s for o in config.getoption("--kit-only") for s in re.split(r"[,\s]+", o) if s]
    chosen = selected_checks(env.profile, only)
    ids = {c.id for c in chosen}
    shard = config.getoption("--kit-shard")
    if shard:
        i, n = (int(x) for x in shard.split("/"))
        where = shard_of(chosen, n)
        ids = {cid for cid in ids if where[cid] == i}
    keep, drop = [], []
    for it in items:
        c = getattr(it.function, "kit_check", None)
        (keep if c and c.id in ids else drop).append(it)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


@pytest.fixture(scope="session")
def kit():
    env = _ENV.get("env")
    if env is None:
        pytest.skip("not run through conformance/run (no --kit-client)")
    env.start()
    yield env
    env.stop()


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
