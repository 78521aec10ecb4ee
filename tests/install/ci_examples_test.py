"""The CI examples: both configs parse, install the package, start the mock and wait for READY,
run twoba-conformance against $ADAPTER with --report, and keep the reports (GitLab: JUnit too);
run-local.sh runs the same commands (it is exercised for real by the run_local test)."""

import os
import sys
import unittest

import yaml

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ci", "examples")


def read(name):
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
        return f.read()


STEPS = [
    'apt-get install -y -qq --no-install-recommends "./$TWOBA_MOCK_DEB"',
    "mock_server --port 0 --log-format json",
    "grep -q '^READY '",
    'twoba-conformance --client "$ADAPTER" --report reports',
]


class GitHubActions(unittest.TestCase):
    def setUp(self):
        self.doc = yaml.safe_load(read("github-actions.yml"))
        self.job = self.doc["jobs"]["conformance"]
        self.script = "\n".join(s.get("run", "") for s in self.job["steps"])

    def test_steps(self):
        for step in STEPS:
            self.assertIn(step, self.script)
        self.assertIn("TWOBA_MOCK_URL=$url", self.script)
        self.assertIn("ADAPTER", self.job["env"])

    def test_reports_kept_even_on_failure(self):
        upload = [s for s in self.job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
        self.assertEqual(len(upload), 1)
        self.assertEqual(upload[0]["if"], "always()")
        self.assertEqual(upload[0]["with"]["path"], "reports/")


class GitLabCi(unittest.TestCase):
    def setUp(self):
        self.job = yaml.safe_load(read("gitlab-ci.yml"))["twoba-conformance"]
        self.script = "\n".join(self.job["before_script"] + self.job["script"])

    def test_steps(self):
        for step in STEPS:
            self.assertIn(step, self.script)
        self.assertIn("ADAPTER", self.job["variables"])

    def test_reports_kept_even_on_failure(self):
        artifacts = self.job["artifacts"]
        self.assertEqual(artifacts["when"], "always")
        self.assertIn("reports/", artifacts["paths"])
        self.assertEqual(artifacts["reports"]["junit"], "reports/junit.xml")


class RunLocal(unittest.TestCase):
    def test_same_commands(self):
        script = read("run-local.sh")
        self.assertIn('"$mock_server" --port 0 --log-format json', script)
        self.assertIn('"$kit" --client "$client" --report "$report"', script)
        self.assertIn("dpkg-deb -x", script)


if __name__ == "__main__":
    sys.exit(unittest.main())
