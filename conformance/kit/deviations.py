"""Known-deviations files: which non-passing results a client is expected to have."""

import json


def read_deviations(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    items = doc if isinstance(doc, list) else doc.get("deviations", [])
    for d in items:
        if "check" not in d or "result" not in d:
            raise ValueError("%s: every deviation needs 'check' and 'result'" % path)
        if d["result"] not in ("PASS", "INFO", "WARN", "FAIL", "SKIP", "ERROR"):
            raise ValueError("%s: result %r is not a verdict" % (path, d["result"]))
    return items


def judge(recs, deviations, profile, strict):
    """Unexpected outcomes: FAIL/ERROR not listed, and listed deviations that did not happen."""
    expected = {}
    for d in deviations or []:
        if d.get("profile", profile) != profile or d.get("strict", strict) != strict:
            continue
        expected[d["check"]] = d
    unexpected, matched = [], []
    for r in recs:
        cid, v = r["check"]["id"], r["verdict"]
        if cid in expected:
            want = expected[cid]["result"]
            if v == want:
                matched.append("%s %s (%s)" % (cid, v, expected[cid].get("comment", "")[:70]))
            else:
                unexpected.append("%s: expected %s, got %s" % (cid, want, v))
        elif v in ("FAIL", "ERROR"):
            first = next((f["message"] for f in r["findings"] if f["level"] in ("FAIL", "WARN")), r.get("reason") or "")
            unexpected.append("%s: %s — %s" % (cid, v, first[:110]))
    ran = {r["check"]["id"] for r in recs}
    return unexpected, matched, [c for c in expected if c not in ran]
