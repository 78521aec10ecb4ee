"""mock_server --log-format json: one JSON object per request on stderr with method, path,
status, latency, grant type and client id, and no secret anywhere (passwords, client secrets,
tokens, codes, PKCE verifiers, Basic credentials, query tokens).
Run: log_format_test.py MOCK_SERVER_BINARY FIXTURE_DIR"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

import requests

MOCK = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TWOBA_MOCK_SERVER", "")
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else ""

PASSWORD = "Pw-7f3a9c-UNIQUE-pass"
SECRET = "Cs-91b2e4-UNIQUE-secret"
WRONG_PASSWORD = "Wp-55d0aa-UNIQUE-wrong"
VERIFIER = "Vf-" + "8c1d2e3f4a5b6c7d" * 3 + "-UNIQUE"


class JsonLog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(FIXTURES, "default.json")) as f:
            fixture = json.load(f)
        fixture["users"][0]["password"] = PASSWORD
        fixture["clients"][0]["client_secret"] = SECRET
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "secrets.json")
        with open(path, "w") as f:
            json.dump(fixture, f)
        # A scenario of the same folder, reached by path prefix.
        with open(os.path.join(FIXTURES, "fast-expiry.json")) as src, open(
            os.path.join(cls.tmp.name, "fast-expiry.json"), "w"
        ) as dst:
            dst.write(src.read())
        cls.stderr = open(os.path.join(cls.tmp.name, "stderr.log"), "w+")
        cls.proc = subprocess.Popen(
            [MOCK, "--fixture", path, "--port", "0", "--log-format", "json"],
            stdout=subprocess.PIPE,
            stderr=cls.stderr,
            text=True,
        )
        ready = cls.proc.stdout.readline().strip()
        assert ready.startswith("READY "), ready
        cls.url = ready.split(" ", 1)[1]
        cls.secrets = [PASSWORD, SECRET, WRONG_PASSWORD, VERIFIER]
        cls.exercise()
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.stderr.seek(0)
        cls.lines = cls.stderr.read().splitlines()

    @classmethod
    def tearDownClass(cls):
        cls.stderr.close()
        cls.tmp.cleanup()

    @classmethod
    def token(cls, data, **kw):
        return requests.post(cls.url + "/OAuth/Token", data=data, timeout=10, **kw)

    @classmethod
    def exercise(cls):
        s = cls.secrets
        cls.requests_made = []  # (method, path, status, grant_type, client_id)
        login = {
            "grant_type": "password",
            "username": "demo",
            "password": PASSWORD,
            "client_id": "demo-client",
            "client_secret": SECRET,
        }
        r = cls.token(login)
        assert r.status_code == 200, r.text
        tokens = r.json()
        s += [tokens["access_token"], tokens["refresh_token"]]
        cls.requests_made.append(("POST", "/OAuth/Token", 200, "password", "demo-client"))

        r = cls.token(dict(login, password=WRONG_PASSWORD))
        cls.requests_made.append(("POST", "/OAuth/Token", r.status_code, "password", "demo-client"))

        r = cls.token(
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=("demo-client", SECRET),
        )
        assert r.status_code == 200, r.text
        s += [
            r.json()["access_token"],
            r.json()["refresh_token"],
            base64.b64encode(("demo-client:" + SECRET).encode()).decode(),
        ]
        cls.requests_made.append(("POST", "/OAuth/Token", 200, "refresh_token", "demo-client"))

        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        code = requests.post(
            cls.url + "/__mock/codes",
            timeout=10,
            json={
                "client_id": "demo-public",
                "username": "demo",
                "redirect_uri": "http://127.0.0.1/tokenreceiver",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        ).json()["code"]
        s.append(code)
        r = cls.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "demo-public",
                "redirect_uri": "http://127.0.0.1/tokenreceiver",
                "code_verifier": VERIFIER,
            }
        )
        assert r.status_code == 200, r.text
        s += [r.json()["access_token"], r.json()["refresh_token"]]
        cls.requests_made.append(("POST", "/OAuth/Token", 200, "authorization_code", "demo-public"))

        access = tokens["access_token"]
        r = requests.get(
            cls.url + "/1/json/Product/DetailsForProduct?gtin=8711893010011",
            headers={"Authorization": "Bearer " + access},
            timeout=10,
        )
        cls.requests_made.append(
            ("GET", "/1/json/Product/DetailsForProduct", r.status_code, None, None)
        )
        r = requests.get(
            cls.url + "/1/json/Product/Search?query=wit&access_token=" + access, timeout=10
        )
        cls.requests_made.append(("GET", "/1/json/Product/Search", r.status_code, None, None))
        r = requests.get(cls.url + "/s/fast-expiry/.well-known/openid-configuration", timeout=10)
        cls.requests_made.append(
            ("GET", "/s/fast-expiry/.well-known/openid-configuration", 200, None, None)
        )

    def test_one_json_object_per_request(self):
        self.assertEqual(len(self.lines), len(self.requests_made), "\n".join(self.lines))
        for line, (method, path, status, grant, client) in zip(self.lines, self.requests_made):
            entry = json.loads(line)
            self.assertIsInstance(entry, dict)
            self.assertEqual(entry["method"], method)
            self.assertEqual(entry["path"], path)
            self.assertEqual(entry["status"], status)
            self.assertIsInstance(entry["latency_ms"], (int, float))
            self.assertGreaterEqual(entry["latency_ms"], 0)
            self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            if grant:
                self.assertEqual(entry["grant_type"], grant)
                self.assertEqual(entry["client_id"], client)
            else:
                self.assertNotIn("grant_type", entry)

    def test_errors_are_named(self):
        wrong = json.loads(self.lines[1])
        self.assertEqual(wrong["status"], 400)
        self.assertEqual(wrong["error"], "invalid_grant")

    def test_scenario_is_named(self):
        self.assertEqual(json.loads(self.lines[-1])["scenario"], "fast-expiry")

    def test_no_secret_in_the_log(self):
        log = "\n".join(self.lines)
        self.assertGreaterEqual(len(self.secrets), 12)
        for secret in self.secrets:
            self.assertNotIn(secret, log)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
