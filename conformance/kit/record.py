"""What one check leaves behind: its CheckRecord. The runner (kit/runner.py) writes one per check
as <run>/checks/<id>.json; conformance/run, the reports and the known-deviations comparison read
them back, in another process and possibly from an earlier run. This module is the only place
that turns a record into JSON and back."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Optional

from .catalog import CheckInfo, Finding, Verdict


@dataclass
class BlockedAt:
    """Where a BLOCKED check's flow was cut short: the failed step, the journal positions it
    covers and the client's reply (the report names the FAILs seen there)."""

    flow: Optional[str]
    step: Optional[str]
    seq: tuple[int, int]
    reply: Optional[str]

    def to_json(self) -> dict:
        return {"flow": self.flow, "step": self.step, "seq": list(self.seq), "reply": self.reply}

    @classmethod
    def from_json(cls, d: dict) -> BlockedAt:
        lo, hi = d.get("seq") or (0, 0)
        return cls(d.get("flow"), d.get("step"), (lo, hi), d.get("reply"))


@dataclass
class CheckRecord:
    """One check's result for one client, with the evidence it was judged on."""

    kit_version: str
    client: str
    transport: str
    implementation: dict
    profile: str
    strict: bool
    check: CheckInfo
    verdict: Verdict
    reason: Optional[str] = None
    traceback: Optional[str] = None
    findings: list[Finding] = field(default_factory=list)
    duration_s: float = 0.0
    evidence: list[dict] = field(default_factory=list)  # one per flow (FlowRun.evidence())
    blocked_at: list[BlockedAt] = field(default_factory=list)

    def first_message(self, levels: tuple[Verdict, ...]) -> Optional[str]:
        """The message of the first finding of the first of `levels` found."""
        for lvl in levels:
            for f in self.findings:
                if f.level == lvl:
                    return f.message
        return None

    def to_json(self) -> dict:
        return {
            "kit_version": self.kit_version,
            "client": self.client,
            "transport": self.transport,
            "implementation": self.implementation,
            "profile": self.profile,
            "strict": self.strict,
            "check": self.check.to_json(),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "traceback": self.traceback,
            "findings": [f.to_json() for f in self.findings],
            "duration_s": self.duration_s,
            "evidence": self.evidence,
            "blocked_at": [b.to_json() for b in self.blocked_at],
        }

    @classmethod
    def from_json(cls, d: dict) -> CheckRecord:
        return cls(
            kit_version=d.get("kit_version", ""),
            client=d.get("client", ""),
            transport=d.get("transport", ""),
            implementation=d.get("implementation") or {},
            profile=d.get("profile", ""),
            strict=bool(d.get("strict")),
            check=CheckInfo.from_json(d["check"]),
            verdict=Verdict(d["verdict"]),
            reason=d.get("reason"),
            traceback=d.get("traceback"),
            findings=[Finding.from_json(f) for f in d.get("findings", [])],
            duration_s=d.get("duration_s", 0.0),
            evidence=d.get("evidence", []),
            blocked_at=[BlockedAt.from_json(b) for b in d.get("blocked_at") or []],
        )

    def write(self, run_dir: str) -> str:
        """Writes the record into run_dir/checks/; returns the file's path."""
        d = os.path.join(run_dir, "checks")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, record_file_name(self.check.id))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)
        return path


def record_file_name(check_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", check_id) + ".json"


def read_records(run_dir: str) -> list[CheckRecord]:
    """The records of one run directory, by file name."""
    recs = []
    d = os.path.join(run_dir, "checks")
    if os.path.isdir(d):
        for name in sorted(os.listdir(d)):
            if name.endswith(".json"):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    recs.append(CheckRecord.from_json(json.load(f)))
    return recs
