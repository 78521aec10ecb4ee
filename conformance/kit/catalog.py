"""Check registry, profiles, findings and verdicts."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

PROFILES = ("2ba", "rfc6749", "bcp")


class Verdict(str, enum.Enum):
    """A check's result. PASS < INFO < WARN < FAIL by severity; BLOCKED (the flow never reached
    the behaviour the check judges, for a reason another check or step names), SKIP (the client
    cannot do what the check needs) and ERROR (the kit broke) stand apart."""

    PASS = "PASS"
    INFO = "INFO"
    WARN = "WARN"
    FAIL = "FAIL"
    BLOCKED = "BLOCKED"
    SKIP = "SKIP"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


SEVERITY = (Verdict.PASS, Verdict.INFO, Verdict.WARN, Verdict.FAIL)

# What the requirement tags mean (shown in reports).
REQUIREMENT_SOURCES = {
    "2BA-token": "https://www.2ba.nl/documentatie/webservices/api-version-1/oauth/token",
    "2BA-refresh": "https://www.2ba.nl/documentatie/webservices/oauth2/voorbeeld-oauth2-refresh-access-token/",
    "2BA-ropc": "https://www.2ba.nl/documentatie/webservices/oauth2/resource-owner-password-credentials-grant/",
    "2BA-code": "https://www.2ba.nl/documentatie/webservices/oauth2/authorization-code/",
    "2BA-intro": "https://www.2ba.nl/documentatie/webservices/oauth2/",
}


def rfc_url(tag: str) -> Optional[str]:
    m = re.match(r"RFC(\d+)-(.+)", tag)
    if not m:
        return REQUIREMENT_SOURCES.get(tag)
    sec = m.group(2)
    anchor = ("appendix-" + sec[4:]) if sec.startswith("App.") else ("section-" + sec)
    return "https://www.rfc-editor.org/rfc/rfc%s#%s" % (m.group(1), anchor)


def catalog_ids(requirements: list[str]) -> list[str]:
    """The requirement catalog's IDs (R01–R54) among a check's requirement tags."""
    return [r for r in requirements if re.fullmatch(r"R\d\d", r)]


@dataclass
class Check:
    id: str
    title: str
    requirements: list[str]  # ["R38", "RFC6749-6", "2BA-refresh"]
    flows: list[str]  # flow names; "name?" is optional (None when that flow is skipped)
    grade: dict[str, Verdict]  # profile -> level of the check's main violation
    description: str
    fn: Callable = field(repr=False)

    @property
    def catalog_ids(self) -> list[str]:
        return catalog_ids(self.requirements)

    def in_profile(self, profile: str) -> bool:
        return profile in self.grade

    def matches(self, selectors: list[str]) -> bool:
        if not selectors:
            return True
        for s in selectors:
            s = s.strip()
            if not s:
                continue
            if s == self.id or self.id.startswith(s.rstrip("/") + "/") or s in self.requirements:
                return True
        return False

    def info(self, profile: str) -> CheckInfo:
        """What a record says of the check (its function left out), graded for `profile`."""
        lvl = self.grade.get(profile)
        return CheckInfo(
            self.id,
            self.title,
            self.requirements,
            self.flows,
            {k: str(v) for k, v in self.grade.items()},
            self.description,
            str(lvl) if lvl else None,
        )


@dataclass
class CheckInfo:
    """A check as its record carries it: written by the runner, read back by the reports."""

    id: str
    title: str
    requirements: list[str]
    flows: list[str]
    grade: dict[str, str]
    description: str
    level_on_violation: Optional[str]  # in the profile of the record's run

    @property
    def catalog_ids(self) -> list[str]:
        return catalog_ids(self.requirements)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "requirements": self.requirements,
            "flows": self.flows,
            "grade": self.grade,
            "description": self.description,
            "level_on_violation": self.level_on_violation,
        }

    @classmethod
    def from_json(cls, d: dict) -> CheckInfo:
        return cls(
            d["id"],
            d.get("title", ""),
            d.get("requirements", []),
            d.get("flows", []),
            d.get("grade", {}),
            d.get("description", ""),
            d.get("level_on_violation"),
        )


CHECKS: dict[str, Check] = {}


def check(id, title, requirements, flows, grade, description=""):
    """Declares a check. The function gets a CheckContext and records findings on it."""

    def deco(fn):
        c = Check(
            id,
            title,
            requirements,
            flows,
            {p: Verdict(v) for p, v in grade.items()},
            description or (fn.__doc__ or "").strip(),
            fn,
        )
        CHECKS[id] = c

        # Not functools.wraps: pytest would follow __wrapped__ and ask for the flow arguments.
        def test(kit):
            kit.run_check(c)

        test.__name__ = fn.__name__
        test.__doc__ = fn.__doc__
        test.kit_check = c
        return test

    return deco


@dataclass
class Finding:
    level: Verdict
    message: str
    flow: Optional[str] = None
    seq: Union[int, list[int], None] = None

    @property
    def seqs(self) -> list[int]:
        """The journal positions the finding points at."""
        if not self.seq:
            return []
        return self.seq if isinstance(self.seq, list) else [self.seq]

    def to_json(self) -> dict:
        d = {"level": str(self.level), "message": self.message}
        if self.flow:
            d["flow"] = self.flow
        if self.seq:
            d["seq"] = self.seqs
        return d

    @classmethod
    def from_json(cls, d: dict) -> Finding:
        return cls(Verdict(d["level"]), d["message"], d.get("flow"), d.get("seq"))


class Skip(Exception):
    """The check cannot judge this client (it lacks a capability the check needs)."""


class Blocked(Exception):
    """The flow never reached the behaviour the check judges; the message names the root cause
    (a failed step, and the checks that judge what went wrong there)."""


class CheckContext:
    """Collects findings for one check; grades violations by the run's profile."""

    def __init__(self, check: Check, profile: str, strict: bool):
        self.check = check
        self.profile = profile
        self.strict = strict
        self.findings: list[Finding] = []

    def _grade(self, grade) -> Verdict:
        lvl = (grade or self.check.grade).get(self.profile) or self.check.grade.get(self.profile)
        return Verdict(lvl)

    def violation(self, message, flow=None, seq=None, grade=None):
        """A directly observed breach of the check's requirement, graded by profile."""
        self.findings.append(Finding(self._grade(grade), message, flow, seq))

    def not_observed(self, message, run):
        """The behaviour this check judges did not happen in `run`. If the flow was cut short by
        a failed step, the check stops here as BLOCKED by that step (unless it already saw a
        violation); otherwise the absence is a violation: the client was asked and did nothing."""
        cause = run.root_cause() if run is not None and hasattr(run, "root_cause") else None
        if cause:
            raise Blocked("%s — blocked: %s" % (message, cause))
        self.violation(message, getattr(run, "name", run))

    def step_failed(self, run, step, message):
        """A step the check needs failed: a violation, unless the flow was cut short at or
        before that step by a cause other checks judge (then BLOCKED)."""
        failed = run.failed_step()
        if failed is not None and failed.n <= step.n:
            raise Blocked("%s — blocked: %s" % (message, run.root_cause()))
        self.violation(message, run.name)

    def require_login(self, run, control=None):
        """BLOCKED when the login of `run` failed the same way as that of the plain `control`
        flow (the failure is not caused by what `run` varies)."""
        for r in (run, control):
            if r is None:
                continue
            st = r.failed_step()
            if st is None or st.cmd not in ("login_password", "login_code"):
                return
        cause = (control or run).root_cause()
        raise Blocked("the login fails on plain replies too — blocked: %s" % cause)

    def warn(self, message, flow=None, seq=None):
        self.findings.append(Finding(Verdict.WARN, message, flow, seq))

    def info(self, message, flow=None, seq=None):
        self.findings.append(Finding(Verdict.INFO, message, flow, seq))

    def passed(self, message, flow=None, seq=None):
        self.findings.append(Finding(Verdict.PASS, message, flow, seq))

    def skip(self, reason):
        raise Skip(reason)

    def worst(self) -> Verdict:
        """The most severe finding so far (PASS without any); the verdict is decided in
        runner.decide."""
        worst = Verdict.PASS
        for f in self.findings:
            if f.level in SEVERITY and SEVERITY.index(f.level) > SEVERITY.index(worst):
                worst = f.level
        return worst
