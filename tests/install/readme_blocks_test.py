"""Runs every shell block of README.md as written, in order, against a fresh mock, so the docs
cannot drift from the behaviour.

- A block whose only command starts the mock (`ci/start-mock ARGS` or `mock_server ARGS`) starts
  the built mock_server with ARGS (ci/start-mock's install and release build are what
  ci/time-bare-start measures); the blocks after it run against that mock.
- Other `sh` blocks run with `bash -e -o pipefail` in a scratch copy of the project's fixtures
  (with `conformance`, the kit, linked in), HOME pointing into it and TWOBA_MOCK_SERVER naming
  the built mock (the pytest plugin's way to find it). An output line shown as a comment (`# {...}`, `# [...]`, `# HTTP/...`
  or a single word) must appear in the block's output; `…` stands for anything.
- A `json` block introduced by "Save as `PATH`" is saved there first.
- A block preceded by `<!-- docs-test: skip: REASON -->` is listed with its reason, not run.
- The messages the Troubleshooting table and the cookbook quote are reproduced and compared.

The blocks use the README's fixed URL http://127.0.0.1:8080: as root the test runs in a network
namespace of its own (unshare), where that port is free; otherwise the port is rewritten to a
free one. Usage: readme_blocks_test.py MOCK_SERVER SOURCE_DIR
"""

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

MOCK, SOURCE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
README = os.path.join(SOURCE, "README.md")
IN_NAMESPACE = os.environ.get("README_TEST_NETNS") == "1"
SKIP = re.compile(r"<!-- docs-test: skip: (.*?) -->")
SAVE_AS = re.compile(r"Save as `([^`]+\.json)`")
EXPECTED = re.compile(r"^# ((?:\{|\[|HTTP/).*|\S+)$")


def enter_namespace():
    """Re-runs this script in a network namespace with only loopback, when that is possible."""
    if IN_NAMESPACE or os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return
    env = dict(os.environ, README_TEST_NETNS="1")
    inner = "ip link set lo up && exec %s" % " ".join(
        shlex.quote(a) for a in [sys.executable, "-B", *sys.argv]
    )
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    if probe.returncode == 0:
        sys.exit(subprocess.run(["unshare", "--net", "sh", "-c", inner], env=env).returncode)


def blocks(path):
    """(language, text, the three lines before the fence, line number) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^ *```(\w*)$", lines[i])
        if not m:
            i += 1
            continue
        start = i
        i += 1
        body = []
        while not re.match(r"^ *```$", lines[i]):
            body.append(lines[i])
            i += 1
        yield m.group(1), "\n".join(body) + "\n", "\n".join(
            lines[max(0, start - 3) : start]
        ), start + 1
        i += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mock:
    def __init__(self, args, cwd, env, port):
        if port != 8080:
            args = args + ["--port", str(port)]
        self.proc = subprocess.Popen(
            [MOCK, "--quiet", *args],
            cwd=cwd,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.ready = self.proc.stdout.readline()
        if not self.ready.startswith("READY "):
            raise AssertionError(
                "the mock did not start: %r %s" % (self.ready, self.proc.stderr.read())
            )
        if "--https" in args:
            assert self.proc.stdout.readline().startswith("CA-FILE ")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def check_expected(text, output, where):
    failures = []
    for line in text.split("\n"):
        m = EXPECTED.match(line.strip())
        if not m:
            continue
        pattern = ".*?".join(re.escape(part) for part in m.group(1).split("…"))
        if not re.search(pattern, output):
            failures.append("%s: expected output %r not found" % (where, m.group(1)))
    return failures


def main():
    enter_namespace()
    port = 8080 if IN_NAMESPACE else free_port()
    print(
        "network namespace: %s; port %d" % ("yes" if IN_NAMESPACE else "no (port rewritten)", port)
    )
    work = tempfile.mkdtemp(prefix="readme-test-")
    shutil.copytree(os.path.join(SOURCE, "fixtures"), os.path.join(work, "fixtures"))
    os.symlink(os.path.join(SOURCE, "conformance"), os.path.join(work, "conformance"))
    os.makedirs(os.path.join(work, "home"))
    env = dict(
        os.environ,
        HOME=os.path.join(work, "home"),
        TWOBA_MOCK_SERVER=MOCK,
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("XDG_CACHE_HOME", None)
    failures, ran, skipped = [], 0, 0
    mock = None
    try:
        for lang, text, before, line in blocks(README):
            where = "README.md:%d" % line
            text = text.replace("127.0.0.1:8080", "127.0.0.1:%d" % port).replace(
                "localhost:8080", "localhost:%d" % port
            )
            skip = SKIP.search(before)
            if lang == "json" and SAVE_AS.search(before):
                target = os.path.join(work, SAVE_AS.search(before).group(1))
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)
                continue
            if lang != "sh":
                continue
            if skip:
                skipped += 1
                print("%s: not run: %s" % (where, skip.group(1)))
                continue
            words = shlex.split(text, comments=True)
            if (
                words
                and words[0] in ("ci/start-mock", "mock_server")
                and len(text.strip().split("\n")) == 1
            ):
                if mock:
                    mock.stop()
                mock = Mock(words[1:], work, env, port)
                print("%s: started the mock: %s" % (where, text.strip()))
                continue
            ran += 1
            result = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", text],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            output = (result.stdout + result.stderr).replace("\r", "")
            if result.returncode != 0:
                failures.append("%s: exit status %d:\n%s" % (where, result.returncode, output))
                continue
            missing = check_expected(text, output, where)
            failures += [m + "; the output was:\n" + output for m in missing]
            print(
                "%s: ran, %d expected lines checked"
                % (where, sum(1 for l in text.split("\n") if EXPECTED.match(l.strip())))
            )
        if mock:
            mock.stop()
            mock = None
        failures += check_messages(work, env, port)
    finally:
        if mock:
            mock.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("%d blocks run, %d listed as not run" % (ran, skipped))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures or ran == 0 else 0


def check_messages(work, env, port):
    """The port-in-use and bad-fixture messages the README quotes are the mock's own."""
    readme = open(README, encoding="utf-8").read()
    failures = []
    quoted = [q.replace("8080", str(port)) for q in re.findall(r"`(mock_server: [^`]+)`", readme)]
    first = Mock([], work, env, port)
    try:
        second = subprocess.run(
            [MOCK, "--port", str(port)], capture_output=True, text=True, timeout=10
        )
    finally:
        first.stop()
    bad = os.path.join(work, "fixtures", "my-scenario.json")
    text = open(bad, encoding="utf-8").read() if os.path.exists(bad) else None
    if text is None or '"access_token_lifetime": 120' not in text:
        failures.append(
            "the cookbook's fixtures/my-scenario.json was not saved as the test expects"
        )
        return failures
    with open(bad, "w", encoding="utf-8") as f:
        f.write(text.replace('"access_token_lifetime": 120', '"access_token_lifetime": "120"'))
    third = subprocess.run(
        [MOCK, "--port", "0", "--fixture", "fixtures/my-scenario.json"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=10,
    )
    actual = {
        "cannot listen": (second.stderr, second.returncode, 1),
        "is another mock": (second.stderr, second.returncode, 1),
        "bad fixture: fixtures/": (third.stderr, third.returncode, 2),
    }
    for message in quoted:
        for key, (stderr, status, want) in actual.items():
            if key in message:
                if message not in stderr or status != want:
                    failures.append(
                        "README quotes %r; the mock printed %r (exit %d)"
                        % (message, stderr, status)
                    )
                break
    if len([m for m in quoted if any(k in m for k in actual)]) < 3:
        failures.append("the README no longer quotes the port-in-use and bad-fixture messages")
    return failures


if __name__ == "__main__":
    sys.exit(main())
