"""The CI examples (ci/examples/): every YAML file parses and is checked here.
- github-actions.yml / gitlab-ci.yml: the image as a service container on port 8080 (tag = the
  project's version) with a login, a refresh and the control API against it; the kit job installs
  the release's .deb, starts the mock and waits for READY, runs twoba-conformance against
  $ADAPTER with --report, and keeps the reports (GitLab: JUnit too).
- github-actions-from-source.yml: checks out the project at the version's tag, caches the build
  directory ci/start-mock uses, and waits for READY.
- github-release.yml: on a tag v*, builds the .deb packages (cpack) and the image from the
  Containerfile, and publishes both (release assets, ghcr.io).
Every `run:`/`script:` is checked by `bash -n`; run-local.sh runs the kit's commands (it is
exercised for real by the run_local test)."""

import os
import re
import subprocess
import sys
import unittest

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLES = os.path.join(ROOT, "ci", "examples")
with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as _f:
    VERSION = re.search(r"project\(twoba_mock VERSION ([0-9.]+)", _f.read()).group(1)
IMAGE = "ghcr.io/twoba-mock/twoba-mock:" + VERSION


def read(name):
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
        return f.read()


def load(name):
    return yaml.safe_load(read(name))


def shell_ok(testcase, script, where):
    """bash -n on a step's script: a quoting slip in an example is caught here, not by a partner."""
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    testcase.assertEqual(result.returncode, 0, "%s: %s" % (where, result.stderr))


KIT_STEPS = [
    'apt-get install -y -qq --no-install-recommends "./$TWOBA_MOCK_DEB"',
    "mock_server --port 0 --log-format json",
    "grep -q '^READY '",
    'twoba-conformance --client "$ADAPTER" --report reports',
]
RELEASE_URL = "https://github.com/twoba-mock/twoba-mock/releases/download/v$TWOBA_MOCK_VERSION/$TWOBA_MOCK_DEB"


class EveryExample(unittest.TestCase):
    def test_every_yaml_file_is_checked_here(self):
        names = sorted(n for n in os.listdir(EXAMPLES) if n.endswith((".yml", ".yaml")))
        self.assertEqual(
            names,
            [
                "github-actions-from-source.yml",
                "github-actions.yml",
                "github-release.yml",
                "gitlab-ci.yml",
            ],
        )

    def test_github_workflows_are_well_formed(self):
        for name in ("github-actions.yml", "github-actions-from-source.yml", "github-release.yml"):
            doc = load(name)
            self.assertIn(True, doc, name)  # PyYAML reads the key `on` as True
            for job_name, job in doc["jobs"].items():
                self.assertIn("runs-on", job, job_name)
                for step in job["steps"]:
                    self.assertTrue(("uses" in step) != ("run" in step), (name, step))
                    if "run" in step:
                        shell_ok(self, step["run"], "%s %s" % (name, job_name))
                    if "uses" in step:
                        self.assertRegex(step["uses"], r"^[\w.-]+/[\w.-]+@v\d+$")

    def test_no_placeholders(self):
        for name in os.listdir(EXAMPLES):
            self.assertNotRegex(read(name), r"<[a-z][a-z -]*>|TODO|FIXME", name)


class GitHubActions(unittest.TestCase):
    def setUp(self):
        self.doc = load("github-actions.yml")

    def test_image_as_service_container(self):
        job = self.doc["jobs"]["integration"]
        service = job["services"]["twoba-mock"]
        self.assertEqual(service["image"], IMAGE)
        # The job runs in a container beside the service and calls it by name, which the mock's
        # control API accepts only when declared (--public-host through the image's variable).
        self.assertEqual(job["container"], "debian:12")
        self.assertEqual(service["env"], {"TWOBA_PUBLIC_HOST": "twoba-mock"})
        self.assertNotIn("ports", service)
        self.assertEqual(job["env"]["TWOBA_MOCK_URL"], "http://twoba-mock:8080")
        script = "\n".join(s.get("run", "") for s in job["steps"])
        for part in (
            "apt-get install -y -qq --no-install-recommends curl jq",
            "grant_type=password",
            "grant_type=refresh_token",
            "/__mock/clock",
            "-H 'Content-Type: application/json'",
            "jq -er .refresh_token",
            "= 400",
        ):
            self.assertIn(part, script)

    def test_kit_steps(self):
        job = self.doc["jobs"]["conformance"]
        script = "\n".join(s.get("run", "") for s in job["steps"])
        for step in KIT_STEPS:
            self.assertIn(step, script)
        self.assertIn(RELEASE_URL, script)
        self.assertEqual(job["env"]["TWOBA_MOCK_DEB"], "twoba-mock_%s_amd64.deb" % VERSION)
        self.assertEqual(self.doc["env"]["TWOBA_MOCK_VERSION"], VERSION)
        self.assertIn("TWOBA_MOCK_URL=$url", script)
        self.assertIn("ADAPTER", job["env"])
        upload = [
            s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
        ]
        self.assertEqual(len(upload), 1)
        self.assertEqual(upload[0]["if"], "always()")
        self.assertEqual(upload[0]["with"]["path"], "reports/")


class GitLabCi(unittest.TestCase):
    def setUp(self):
        self.doc = load("gitlab-ci.yml")

    def test_image_as_service(self):
        job = self.doc["twoba-integration"]
        self.assertEqual(
            job["services"],
            [
                {
                    "name": IMAGE,
                    "alias": "twoba-mock",
                    "variables": {"TWOBA_PUBLIC_HOST": "twoba-mock"},
                }
            ],
        )
        self.assertEqual(job["variables"]["TWOBA_MOCK_URL"], "http://twoba-mock:8080")
        script = "\n".join(job["before_script"] + job["script"])
        shell_ok(self, script, "twoba-integration")
        for part in (
            "grant_type=refresh_token",
            "$TWOBA_MOCK_URL/__mock/clock",
            "-H 'Content-Type: application/json'",
            "= 400",
        ):
            self.assertIn(part, script)

    def test_kit_steps(self):
        job = self.doc["twoba-conformance"]
        script = "\n".join(job["before_script"] + job["script"])
        shell_ok(self, script, "twoba-conformance")
        for step in KIT_STEPS:
            self.assertIn(step, script)
        self.assertIn(RELEASE_URL, script)
        self.assertEqual(self.doc["variables"]["TWOBA_MOCK_VERSION"], VERSION)
        self.assertIn("ADAPTER", job["variables"])
        artifacts = job["artifacts"]
        self.assertEqual(artifacts["when"], "always")
        self.assertIn("reports/", artifacts["paths"])
        self.assertEqual(artifacts["reports"]["junit"], "reports/junit.xml")


class FromSource(unittest.TestCase):
    def test_builds_with_a_cache_and_waits_for_ready(self):
        job = load("github-actions-from-source.yml")["jobs"]["integration"]
        self.assertEqual(job["container"], "debian:12")
        steps = job["steps"]
        checkout = [s for s in steps if s.get("with", {}).get("repository")][0]
        self.assertEqual(
            checkout["with"],
            {"repository": "twoba-mock/twoba-mock", "ref": "v" + VERSION, "path": "twoba-mock"},
        )
        cache = [s for s in steps if s.get("uses", "").startswith("actions/cache@")][0]
        # The folder ci/start-mock builds in (release preset).
        with open(os.path.join(ROOT, "ci", "start-mock"), encoding="utf-8") as f:
            start_mock = f.read()
        self.assertIn("build/release/mock_server/mock_server", start_mock)
        self.assertEqual(cache["with"]["path"], "twoba-mock/build/release")
        self.assertIn(VERSION, cache["with"]["key"])
        script = "\n".join(s.get("run", "") for s in steps)
        self.assertIn("twoba-mock/ci/start-mock --port 0", script)
        self.assertIn("grep -q '^READY '", script)


class Release(unittest.TestCase):
    def setUp(self):
        self.doc = load("github-release.yml")

    def test_on_tags_with_the_permissions_it_needs(self):
        self.assertEqual(self.doc[True], {"push": {"tags": ["v*"]}})
        self.assertEqual(self.doc["permissions"], {"contents": "write", "packages": "write"})

    def test_debs_built_and_attached(self):
        job = self.doc["jobs"]["debs"]
        script = "\n".join(s.get("run", "") for s in job["steps"])
        self.assertIn("cmake --preset release", script)
        self.assertIn("cpack -G DEB", script)
        publish = [
            s for s in job["steps"] if s.get("uses", "").startswith("softprops/action-gh-release@")
        ]
        self.assertEqual(publish[0]["with"]["files"], "build/release/*.deb")
        # The preset writes where the files are taken from.
        with open(os.path.join(ROOT, "CMakePresets.json"), encoding="utf-8") as f:
            self.assertIn('"binaryDir": "${sourceDir}/build/release"', f.read())

    def test_image_built_from_the_containerfile_and_pushed(self):
        job = self.doc["jobs"]["image"]
        login = [s for s in job["steps"] if s.get("uses", "").startswith("docker/login-action@")][0]
        self.assertEqual(login["with"]["registry"], "ghcr.io")
        build = [
            s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
        ][0]
        self.assertEqual(build["with"]["file"], "Containerfile")
        self.assertTrue(os.path.exists(os.path.join(ROOT, build["with"]["file"])))
        self.assertIs(build["with"]["push"], True)
        self.assertIn("${{ env.IMAGE }}:${{ env.VERSION }}", build["with"]["tags"])
        self.assertIn(
            "ghcr.io/${GITHUB_REPOSITORY,,}", "\n".join(s.get("run", "") for s in job["steps"])
        )


class Containerfile(unittest.TestCase):
    """The image the examples use: its build stage installs ci/install-deps --mock's list."""

    def test_build_stage_installs_the_mock_packages(self):
        with open(os.path.join(ROOT, "ci", "install-deps"), encoding="utf-8") as f:
            listed = re.search(r"^mock_packages=\((.*?)^\)", f.read(), re.S | re.M).group(1).split()
        with open(os.path.join(ROOT, "Containerfile"), encoding="utf-8") as f:
            text = f.read()
        build = re.search(r"--no-install-recommends \\\n(.*?) \\\n", text, re.S).group(1).split()
        self.assertEqual(sorted(build), sorted(listed + ["ccache"]))
        self.assertIn("ARG BASE=debian:12-slim", text)
        self.assertRegex(text, r"(?m)^USER mock$")


class RunLocal(unittest.TestCase):
    def test_same_commands(self):
        script = read("run-local.sh")
        self.assertIn('"$mock_server" --port 0 --log-format json', script)
        self.assertIn('"$kit" --client "$client" --report "$report"', script)
        self.assertIn("dpkg-deb -x", script)


if __name__ == "__main__":
    sys.exit(unittest.main())
