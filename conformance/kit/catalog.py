"""Check registry, profiles and verdicts."""

import re

PROFILES = ("2ba", "rfc6749", "bcp")
LEVELS = ("PASS", "INFO", "WARN", "FAIL")  # in increasing severity; SKIP and ERROR apart
CHECKS = {}

# What the requirement tags mean (shown in reports).
REQUIREMENT_SOURCES = {
    "2BA-token": "https://www.2ba.nl/documentatie/webservices/api-version-1/oauth/token",
    "2BA-refresh": "https://www.2ba.nl/documentatie/webservices/oauth2/voorbeeld-oauth2-refresh-access-token/",
    "2BA-ropc": "https://www.2ba.nl/documentatie/webservices/oauth2/resource-owner-password-credentials-grant/",
    "2BA-code": "https://www.2ba.nl/documentatie/webservices/oauth2/authorization-code/",
    "2BA-intro": "https://www.2ba.nl/documentatie/webservices/oauth2/",
}


def rfc_url(tag):
    m = re.match(r"RFC(\d+)-(.+)", tag)
    if not m:
        return REQUIREMENT_SOURCES.get(tag)
    sec = m.group(2)
    anchor = ("appendix-" + sec[4:]) if sec.startswith("App.") else ("section-" + sec)
    return "https://www.rfc-editor.org/rfc/rfc%s#%s" % (m.group(1), anchor)


class Check:
    def __init__(self, id, title, requirements, flows, grade, description, fn):
        self.id = id
        self.title = title
        self.requirements = requirements  # ["R38", "RFC6749-6", "2BA-refresh"]
        self.flows = flows
        self.grade = grade  # profile -> level of the check's main violation
        self.description = description
        self.fn = fn

    @property
    def catalog_ids(self):
        return [r for r in self.requirements if re.fullmatch(r"R\d\d", r)]

    def in_profile(self, profile):
        return profile in self.grade

    def matches(self, selectors):
        if not selectors:
            return True
        for s in selectors:
            s = s.strip()
            if not s:
                continue
            if s == self.id or self.id.startswith(s.rstrip("/") + "/") or s in self.requirements:
                return True
        return False

    def meta(self, profile=None):
        d = {"id": self.id, "title": self.title, "requirements": self.requirements,
             "flows": self.flows, "grade": self.grade, "description": self.description}
        if profile:
            d["level_on_violation"] = self.grade.get(profile)
        return d


def check(id, title, requirements, flows, grade, description=""):
    """Declares a check. The function gets a CheckContext and records findings on it."""
    def deco(fn):
        c = Check(id, title, requirements, flows, grade, description or (fn.__doc__ or "").strip(), fn)
        CHECKS[id] = c

        # Not functools.wraps: pytest would follow __wrapped__ and ask for the flow arguments.
        def test(kit):
            kit.run_check(c)
        test.__name__ = fn.__name__
        test.__doc__ = fn.__doc__
        test.kit_check = c
        return test
    return deco


class Finding:
    def __init__(self, level, message, flow=None, seq=None):
        self.level = level
        self.message = message
        self.flow = flow
        self.seq = seq

    def to_json(self):
        d = {"level": self.level, "message": self.message}
        if self.flow:
            d["flow"] = self.flow
        if self.seq:
            d["seq"] = self.seq if isinstance(self.seq, list) else [self.seq]
        return d


class Skip(Exception):
    pass


class CheckContext:
    """Collects findings for one check; grades them by the run's profile."""

    def __init__(self, check, profile, strict):
        self.check = check
        self.profile = profile
        self.strict = strict
        self.findings = []
        self.flows = []

    def _grade(self, grade):
        lvl = (grade or self.check.grade).get(self.profile) or self.check.grade.get(self.profile)
        return lvl

    def violation(self, message, flow=None, seq=None, grade=None):
        """A breach of the check's requirement, graded by profile (FAIL/WARN/INFO)."""
        self.findings.append(Finding(self._grade(grade), message, flow, seq))

    def warn(self, message, flow=None, seq=None):
        self.findings.append(Finding("WARN", message, flow, seq))

    def info(self, message, flow=None, seq=None):
        self.findings.append(Finding("INFO", message, flow, seq))

    def passed(self, message, flow=None, seq=None):
        self.findings.append(Finding("PASS", message, flow, seq))

    def skip(self, reason):
        raise Skip(reason)

    def verdict(self):
        worst = "PASS"
        for f in self.findings:
            lvl = f.level
            if lvl not in LEVELS:
                continue
            if LEVELS.index(lvl) > LEVELS.index(worst):
                worst = lvl
        if worst == "WARN" and self.strict:
            return "FAIL"
        return worst
