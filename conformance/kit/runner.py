"""The kit's engine: the environment of one kit run (mock server, adapter, flow cache), which
checks run (profile, --only, shard), running one check, deciding its verdict, its record and
its progress line. checks/conftest.py only hands pytest's options and tests to it."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Optional

from . import VERSION, tls
from .adapter import AdapterError, adapter_environment, make_adapter, parse_client
from .catalog import CHECKS, Blocked, Check, CheckContext, Skip, Verdict
from .flows import FLOWS, ClientTime, FlowRun
from .mockserver import MockPaths, MockProcess, find_mock_binary, fixtures_dir
from .record import BlockedAt, CheckRecord

importlib.import_module(".scenarios", __package__)  # registers the flows


class SetupError(Exception):
    """The run cannot start as asked (no client, no mock binary); the message says why."""


@dataclass
class RunOptions:
    """What conformance/run asked for (the --kit-* options)."""

    client: str
    name: Optional[str] = None
    profile: str = "2ba"
    strict: bool = False
    only: list[str] = field(default_factory=list)
    report: Optional[str] = None  # directory for the per-check records
    server: Optional[str] = None  # a running mock instead of starting one
    mock: Optional[str] = None  # the mock_server binary
    wait: float = 1.0  # expect-nothing wait T in seconds
    timeout: float = 30.0  # per-command timeout in seconds
    shard: Optional[tuple[int, int]] = None  # (i, n): the i-th of n groups of flows
    pass_env: list[str] = field(default_factory=list)
    width: int = 0  # console width for progress lines


@dataclass
class Outcome:
    """A check's verdict, and why when no finding says it."""

    verdict: Verdict
    reason: Optional[str] = None
    traceback: Optional[str] = None


def decide(ctx: CheckContext, stopped: Optional[Exception] = None) -> Outcome:
    """The one place a check's verdict is decided: from the findings it recorded, graded by the
    run's profile (a WARN counts as FAIL with --strict), and from how it stopped: it ran
    through (None), it could not judge the client (Skip), the flow never reached what it
    judges (Blocked), or anything else (the kit broke: ERROR)."""
    if isinstance(stopped, Skip):
        return Outcome(Verdict.SKIP, str(stopped))
    if isinstance(stopped, Blocked):
        if ctx.worst() not in (Verdict.WARN, Verdict.FAIL):
            return Outcome(Verdict.BLOCKED, str(stopped))
        # A violation seen before the check ran out of evidence still stands.
        ctx.info(str(stopped))
    elif stopped is not None:
        return Outcome(
            Verdict.ERROR,
            "%s: %s" % (type(stopped).__name__, stopped),
            "".join(traceback.format_exception(stopped)),
        )
    elif not ctx.findings:
        return Outcome(Verdict.ERROR, "check recorded no finding")
    worst = ctx.worst()
    if worst == Verdict.WARN and ctx.strict:
        return Outcome(Verdict.FAIL)
    return Outcome(worst)


def selected_checks(profile: str, only: list[str]) -> list[Check]:
    return [c for c in CHECKS.values() if c.in_profile(profile) and c.matches(only)]


def flow_names(check: Check) -> list[str]:
    """The flows a check judges, without the "?" that marks an optional one."""
    return [f.rstrip("?") for f in check.flows]


def shard_of(checks: list[Check], n: int) -> dict[str, int]:
    """Groups checks that share a flow and spreads the groups over n shards by flow cost."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for c in checks:
        names = flow_names(c)
        for f in names[1:]:
            parent[find(f)] = find(names[0])
    groups: dict[str, set[str]] = {}
    for c in checks:
        names = flow_names(c)
        groups.setdefault(find(names[0]), set()).update(names)
    cost = {g: sum(FLOWS[f].cost for f in fl) for g, fl in groups.items()}
    load = [0.0] * n
    where = {}
    for g in sorted(groups, key=lambda g: (-cost[g], g)):
        i = load.index(min(load))
        load[i] += cost[g]
        where[g] = i
    return {c.id: where[find(flow_names(c)[0])] for c in checks}


@dataclass
class TlsMock:
    """An HTTPS mock for the TLS flows, or why there is none."""

    skip: Optional[str] = None
    proc: Optional[MockProcess] = None
    url: Optional[str] = None
    ca: Optional[str] = None


class KitRunner:
    """One kit run: starts what the flows need, runs each flow once, runs and records checks."""

    def __init__(self, opts: RunOptions):
        if not opts.client:
            raise SetupError("--kit-client is required")
        self.opts = opts
        self.transport, self.argv, bundled = parse_client(opts.client)
        self.name = (
            opts.name
            or bundled
            or os.path.basename(self.argv[-1] if self.argv[0].endswith("python3") else self.argv[0])
        )
        self.profile = opts.profile
        self.strict = opts.strict
        self.wait = opts.wait
        self.timeout = opts.timeout
        self.report = opts.report
        self.width = opts.width or shutil.get_terminal_size((150, 24)).columns
        self.adapter_env = adapter_environment(opts.pass_env)
        self.workdir = tempfile.mkdtemp(prefix="twoba-kit-")
        # Adapter stderr: kept in the report directory when there is one (ADAPTERS.md).
        self.stderr_path = os.path.join(
            self.report or self.workdir,
            "adapter-stderr%s.log" % ("" if not opts.shard else "-%d" % opts.shard[0]),
        )
        self._client_time: Optional[ClientTime] = None
        self._reasons_shown: set[str] = set()
        self.mock_binary = find_mock_binary(opts.mock)
        self.server_url = opts.server
        self.paths: Optional[MockPaths] = None
        self.mock: Optional[MockProcess] = None
        self.flows: dict[str, FlowRun] = {}
        self.tls_servers: dict[str, TlsMock] = {}
        self.implementation: dict = {}
        self.out = os.fdopen(os.dup(1), "w", buffering=1)

    def checks(self) -> list[Check]:
        """The checks of this run (profile, --only) in this shard."""
        chosen = selected_checks(self.profile, self.opts.only)
        if not self.opts.shard:
            return chosen
        i, n = self.opts.shard
        where = shard_of(chosen, n)
        return [c for c in chosen if where[c.id] == i]

    def start(self):
        if not self.server_url:
            if not self.mock_binary:
                raise SetupError("mock_server binary not found: build it or pass --mock")
            self.mock = MockProcess(self.mock_binary, os.path.join(fixtures_dir(), "default.json"))
            self.server_url = self.mock.url
            self.paths = self.mock.paths
        else:
            self.paths = MockPaths.fetch(self.server_url)

    def stop(self):
        for s in self.tls_servers.values():
            if s.proc:
                s.proc.stop()
        if self.mock:
            self.mock.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)  # state dirs, TLS keys, probe files

    # --- what the flows need ----------------------------------------------------------------
    def client_time(self) -> ClientTime:
        """Probes once whether the adapter can make time pass for the client: protocol version
        2 and `advance_time` with 0 seconds answered ok."""
        if self._client_time is None:
            self._client_time = self._probe_client_time()
            if self.report:
                with open(os.path.join(self.report, "client-time.json"), "w") as f:
                    json.dump(
                        {"mode": self._client_time.mode, "reason": self._client_time.reason}, f
                    )
        return self._client_time

    def _probe_client_time(self) -> ClientTime:
        state = tempfile.mkdtemp(prefix="probe-", dir=self.workdir)
        base = self.server_url.rstrip("/") + "/s/default"
        cfg = dict(
            self.paths.client_urls(base),
            client_id="demo-client",
            client_secret="demo-secret",
            client_auth="body",
            state_dir=state,
            ca_file=None,
            scope=None,
        )
        a = make_adapter(
            self.transport, self.argv, self.stderr_path, self.timeout, self.adapter_env
        )
        try:
            hs = a.start(cfg) or {}
            if "ready" not in hs:
                return ClientTime("real", "the adapter did not start for the probe")
            if a.version < 2:
                return ClientTime(
                    "real", "adapter protocol version %d has no advance_time" % a.version
                )
            r = a.command("advance_time", {"seconds": 0}, timeout=10)
            if r.ok:
                return ClientTime("client", "the adapter advances the client's clock")
            return ClientTime("real", "advance_time answered %s" % r.describe())
        except AdapterError as e:
            return ClientTime("real", "probe failed: %s" % e)
        finally:
            a.stop()

    def tls_server(self, kind: str) -> TlsMock:
        """An HTTPS mock whose certificate is good, self-signed or for another host."""
        if kind not in self.tls_servers:
            if not self.mock_binary:
                self.tls_servers[kind] = TlsMock(
                    skip="no mock_server binary to start an HTTPS mock"
                )
            else:
                certs = tls.make_certificates(os.path.join(self.workdir, "tls"))
                if certs.get("error"):
                    self.tls_servers[kind] = TlsMock(skip=certs["error"])
                else:
                    cert, key = certs[kind]
                    proc = MockProcess(
                        self.mock_binary,
                        os.path.join(fixtures_dir(), "default.json"),
                        tls_cert=cert,
                        tls_key=key,
                    )
                    self.tls_servers[kind] = TlsMock(proc=proc, url=proc.url, ca=certs["ca"])
        return self.tls_servers[kind]

    def flow(self, name: str) -> FlowRun:
        """The run of flow `name`, run on first use."""
        if name not in self.flows:
            spec = FLOWS[name]
            clock = self.client_time() if spec.real_time_fixture else None
            if spec.tls:
                srv = self.tls_server(spec.tls)
                if srv.skip:
                    run = FlowRun(self, spec)
                    run.skipped = srv.skip
                    self.flows[name] = run
                    return run
                ca = srv.ca if spec.give_ca else None
                run = FlowRun(self, spec, server_url=srv.url, ca_file=ca, verify=False)
            else:
                run = FlowRun(self, spec, clock=clock)
            self.flows[name] = run.run()
            if run.adapter and run.adapter.implementation and not self.implementation:
                self.implementation = run.adapter.implementation
        return self.flows[name]

    # --- running one check ----------------------------------------------------------------
    def run_check(self, check: Check) -> CheckRecord:
        """Runs the check on its flows (each run once per kit run), decides its verdict, writes
        its record (with --kit-report) and its progress line."""
        ctx = CheckContext(check, self.profile, self.strict)
        t0 = time.monotonic()
        runs: list[Optional[FlowRun]] = []
        stopped = None
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
        except Exception as e:
            stopped = e
        outcome = decide(ctx, stopped)
        dt = time.monotonic() - t0
        rec = self._record(check, ctx, outcome, [r for r in runs if r is not None], dt)
        if self.report:
            rec.write(self.report)
        self._progress(rec, dt)
        return rec

    def _record(
        self, check: Check, ctx: CheckContext, outcome: Outcome, runs: list[FlowRun], dt: float
    ) -> CheckRecord:
        blocked_at = []
        if outcome.verdict == Verdict.BLOCKED:
            for r in runs:
                st = r.failed_step()
                if st is not None:
                    blocked_at.append(
                        BlockedAt(
                            r.name,
                            st.label,
                            (st.seq_from, st.seq_to),
                            st.reply.describe() if st.reply else None,
                        )
                    )
        return CheckRecord(
            kit_version=VERSION,
            client=self.name,
            transport=self.transport,
            implementation=self.implementation,
            profile=self.profile,
            strict=self.strict,
            check=check.info(self.profile),
            verdict=outcome.verdict,
            reason=outcome.reason,
            traceback=outcome.traceback,
            findings=list(ctx.findings),
            duration_s=round(dt, 3),
            evidence=[r.evidence() for r in runs if r.journal is not None],
            blocked_at=blocked_at,
        )

    def _progress(self, rec: CheckRecord, dt: float):
        """One line per check, as wide as the terminal; a long reason repeated by many checks
        (an adapter that cannot start) is printed whole once, then referred to."""
        verdict = rec.verdict
        head = "  %-7s %-44s %-14s %5.2fs" % (
            verdict,
            rec.check.id,
            ",".join(rec.check.catalog_ids),
            dt,
        )
        text = rec.reason or (
            rec.first_message((Verdict.FAIL, Verdict.WARN)) or ""
            if verdict in (Verdict.FAIL, Verdict.WARN)
            else ""
        )
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
            text = text[: room - 1] + "…"
        self.out.write(head + ("  " + text if text else "") + "\n")
