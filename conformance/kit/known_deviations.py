"""Known-deviations files (which non-passing results a client is expected to have) and the
comparison of a run's verdicts with them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from .catalog import Verdict
from .record import CheckRecord


@dataclass
class Deviation:
    check: str
    result: Verdict
    profile: Optional[str] = None
    strict: Optional[bool] = None
    comment: str = ""
    issue_url: Optional[str] = None

    def applies(self, profile: str, strict: bool) -> bool:
        return (self.profile is None or self.profile == profile) and (
            self.strict is None or self.strict == strict
        )


@dataclass
class Comparison:
    unexpected: list[str] = field(default_factory=list)  # outcomes that make the run fail
    matched: list[str] = field(default_factory=list)  # listed deviations that happened
    not_run: list[str] = field(default_factory=list)  # listed checks outside this selection


def read_deviations(path: str) -> list[Deviation]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    items = doc if isinstance(doc, list) else doc.get("deviations", [])
    out = []
    for d in items:
        if "check" not in d or "result" not in d:
            raise ValueError("%s: every deviation needs 'check' and 'result'" % path)
        try:
            result = Verdict(d["result"])
        except ValueError:
            raise ValueError("%s: result %r is not a verdict" % (path, d["result"]))
        out.append(
            Deviation(
                d["check"],
                result,
                d.get("profile"),
                d.get("strict"),
                d.get("comment", ""),
                d.get("issue_url"),
            )
        )
    return out


def compare(
    recs: list[CheckRecord], deviations: Optional[list[Deviation]], profile: str, strict: bool
) -> Comparison:
    """Without a deviations list every FAIL and ERROR is a failure of the run. With one, a listed
    check must end with exactly its listed verdict, and an unlisted FAIL, ERROR or BLOCKED is
    unexpected too. An unlisted WARN, INFO or SKIP never fails a run, with a list or without."""
    expected = {d.check: d for d in deviations or [] if d.applies(profile, strict)}
    out = Comparison()
    for r in recs:
        cid, v = r.check.id, r.verdict
        if cid in expected:
            want = expected[cid].result
            if v == want:
                out.matched.append("%s %s (%s)" % (cid, v, expected[cid].comment[:70]))
            else:
                out.unexpected.append("%s: expected %s, got %s" % (cid, want, v))
        elif v in (Verdict.FAIL, Verdict.ERROR) or (
            deviations is not None and v == Verdict.BLOCKED
        ):
            first = next(
                (f.message for f in r.findings if f.level in (Verdict.FAIL, Verdict.WARN)),
                r.reason or "",
            )
            out.unexpected.append("%s: %s — %s" % (cid, v, first))
    ran = {r.check.id for r in recs}
    out.not_run = [c for c in expected if c not in ran]
    return out
