"""The control-API clients (Python: the kit's Scenario and the pytest plugin's helpers; Node:
integrations/node/control.js) checked against mock_server/openapi.json, so they cannot drift.

Each client calls every one of its methods through a recording proxy in front of a real mock.
Every request it sent must be an operation of openapi.json (path and method), use only declared
query parameters, carry a body the operation's requestBody schema accepts, and get a 2xx answer
the operation's response schema accepts. A client method the exercise does not call fails the
test too, so a new method cannot dodge the check.

Run: python3 -m pytest integrations/test_control_clients.py (ctest integrations.control_clients_schema)."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
import requests

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(SOURCE, "conformance"))

from kit.mockserver import MockProcess, Scenario, find_mock_binary  # noqa: E402
from kit.pytest_plugin import TwoBaMock  # noqa: E402


def json_schema_nullable(node):
    """OpenAPI 3.0's `nullable: true` in JSON Schema's words (jsonschema does not know it)."""
    if isinstance(node, list):
        return [json_schema_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: json_schema_nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


OPENAPI = json_schema_nullable(
    json.load(open(os.path.join(SOURCE, "mock_server", "openapi.json"), encoding="utf-8"))
)
NODE_EXERCISE = os.path.join(SOURCE, "integrations", "node", "test", "exercise_control.mjs")


@dataclass
class Exchange:
    method: str
    path: str
    query: dict
    body: object
    status: int
    reply: object


class RecordingProxy:
    """Forwards every request to the mock and keeps what went through."""

    def __init__(self, upstream):
        self.exchanges = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                r = requests.request(
                    self.command, upstream + self.path, data=raw, headers=headers, timeout=10
                )
                url = urllib.parse.urlsplit(self.path)
                if "/__mock/" in url.path:  # the control API; logins on the way are forms
                    proxy.exchanges.append(
                        Exchange(
                            self.command,
                            url.path,
                            urllib.parse.parse_qs(url.query),
                            json.loads(raw) if raw else None,
                            r.status_code,
                            r.json() if r.content else None,
                        )
                    )
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_DELETE = do_PUT = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def operation(method, path):
    """openapi.json's operation for a request path (a scenario's /s/NAME prefix removed)."""
    path = re.sub(r"^/s/[^/]+", "", path)
    item = OPENAPI["paths"].get(path)
    return item.get(method.lower()) if item else None


def schema(fragment):
    """A schema of openapi.json that resolves its #/components/... references in the document."""
    return jsonschema.Draft7Validator(
        fragment, resolver=jsonschema.RefResolver.from_schema(OPENAPI)
    )


def violations(exchange):
    """What is wrong with one request (and its answer) by openapi.json; empty when nothing is."""
    where = "%s %s" % (exchange.method, exchange.path)
    op = operation(exchange.method, exchange.path)
    if op is None:
        return ["%s: no such operation in openapi.json" % where]
    problems = []
    declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    for name in exchange.query:
        if name not in declared:
            problems.append("%s: query parameter %r is not declared" % (where, name))
    body_spec = op.get("requestBody")
    if exchange.body is not None:
        if not body_spec:
            problems.append("%s: sends a body the operation does not take" % where)
        else:
            body_schema = body_spec["content"]["application/json"]["schema"]
            problems += [
                "%s: body %s: %s" % (where, json.dumps(exchange.body), e.message)
                for e in schema(body_schema).iter_errors(exchange.body)
            ]
    elif body_spec and body_spec.get("required"):
        problems.append("%s: sends no body; the operation requires one" % where)
    if not 200 <= exchange.status < 300:
        problems.append("%s: the mock answered %d: %s" % (where, exchange.status, exchange.reply))
    else:
        content = op["responses"][str(exchange.status)].get("content", {})
        reply_schema = next(iter(content.values()), {}).get("schema")
        if reply_schema:
            problems += [
                "%s: reply: %s" % (where, e.message)
                for e in schema(reply_schema).iter_errors(exchange.reply)
            ]
    return problems


@pytest.fixture
def proxy():
    binary = find_mock_binary()
    if not binary:
        pytest.fail("no mock_server: set TWOBA_MOCK_SERVER or build it (ci/start-mock)")
    mock = MockProcess(binary, os.path.join(SOURCE, "fixtures", "default.json"))
    proxy = RecordingProxy(mock.url)
    yield proxy
    proxy.close()
    mock.stop()


def log_in(base, user="demo"):
    reply = requests.post(
        base + "/OAuth/Token",
        timeout=10,
        data={
            "grant_type": "password",
            "username": user,
            "password": user,
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        },
    )
    reply.raise_for_status()
    return reply.json()


def public_methods(cls):
    return {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")}


def test_the_checker_rejects_what_the_schema_forbids():
    """The checks below can fail: an unknown route, a wrong method, a bad body, an undeclared parameter."""
    assert violations(Exchange("POST", "/__mock/clocks", {}, {"advance": 1}, 200, {}))
    assert violations(Exchange("DELETE", "/__mock/clock", {}, None, 200, {}))
    assert violations(
        Exchange(
            "POST",
            "/__mock/clock",
            {},
            {"advance": 1, "set": 2},
            200,
            {"now": 1, "now_ms": 1000, "frozen": False},
        )
    )
    assert violations(
        Exchange(
            "POST", "/__mock/tokens/revoke", {}, {"user": "a", "client": "b"}, 200, {"affected": 0}
        )
    )
    assert violations(
        Exchange(
            "GET",
            "/__mock/requests",
            {"from": ["1"]},
            None,
            200,
            {"requests": [], "dropped": 0, "next_seq": 1},
        )
    )
    assert violations(Exchange("GET", "/__mock/clock", {}, None, 200, {"now": "soon"}))
    assert not violations(
        Exchange(
            "POST",
            "/s/fast-expiry/__mock/clock",
            {},
            {"advance": 1},
            200,
            {"now": 1, "now_ms": 1000, "frozen": False},
        )
    )


def test_python_clients_match_openapi(proxy):
    mock = TwoBaMock(proxy.url)
    scenario = Scenario(proxy.url, "fast-expiry")
    log_in(mock.base)
    log_in(scenario.base)
    called = {
        "Scenario": lambda c: [
            c.health(),
            c.clock(),
            c.advance(60),
            c.journal(),
            c.journal(since=2),
            c.next_seq(),
            c.fault(path="/OAuth/Token", status=503, times=1),
            c.clear_faults(),
            c.tokens(user="demo"),
            c.revoke(user="demo"),
            c.expire(client="demo-client"),
            c.issue_code(
                client_id="demo-client",
                username="demo",
                redirect_uri="http://localhost:8765/callback",
            ),
            c.reset(),
        ],
    }
    called["Scenario"](scenario)
    exercised = {
        "Scenario": {
            "health",
            "clock",
            "advance",
            "journal",
            "next_seq",
            "fault",
            "clear_faults",
            "tokens",
            "revoke",
            "expire",
            "issue_code",
            "reset",
        }
    }
    mock.clock.now(), mock.clock.advance(3600), mock.clock.set(1893456000), mock.clock.freeze(False)
    mock.faults.add(
        "/OAuth/Token",
        grant_type="refresh_token",
        status=503,
        headers={"Retry-After": "2"},
        times=1,
    )
    mock.faults.list(), mock.faults.clear()
    mock.tokens.list(), mock.tokens.list(user="demo"), mock.tokens.expire(
        user="demo"
    ), mock.tokens.revoke(grant="g1")
    mock.journal.entries(), mock.journal.entries(since=1, path="/OAuth/Token"), len(mock.journal)
    list(mock.journal), mock.journal.clear()
    mock.reset()
    exercised.update(
        Clock={"now", "advance", "set", "freeze"},
        Faults={"add", "list", "clear"},
        Tokens={"list", "revoke", "expire"},
        Journal={"entries", "clear"},
        TwoBaMock={"reset"},
    )
    for cls in (
        Scenario,
        type(mock),
        type(mock.clock),
        type(mock.faults),
        type(mock.tokens),
        type(mock.journal),
    ):
        missing = public_methods(cls) - exercised[cls.__name__]
        assert not missing, "%s methods not exercised against the schema: %s" % (
            cls.__name__,
            missing,
        )
    problems = [p for x in proxy.exchanges for p in violations(x)]
    assert not problems, "\n".join(problems)
    assert len(proxy.exchanges) >= 25


def test_node_client_matches_openapi(proxy):
    node = shutil.which("node")
    if not node:
        pytest.skip("Node.js is not installed (ci/install-deps installs it)")
    log_in(proxy.url)
    run = subprocess.run(
        [node, NODE_EXERCISE, proxy.url], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    problems = [p for x in proxy.exchanges for p in violations(x)]
    assert not problems, "\n".join(problems)
    # Every operation in the client's OPERATIONS table was sent at least once.
    sent = {(x.method, re.sub(r"^/s/[^/]+", "", x.path)) for x in proxy.exchanges}
    table = json.loads(run.stdout.strip().splitlines()[-1])
    missing = [op for op in table if (op[0], "/__mock" + op[1]) not in sent]
    assert not missing, "operations of control.js never sent: %s" % missing
