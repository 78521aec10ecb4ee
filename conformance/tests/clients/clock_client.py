#!/usr/bin/python3
"""A small JSON-lines (version 2) client that refreshes on its own clock only, as most OAuth
libraries do: it stores expires_at and refreshes before a call once its clock passes it; a 401
goes back to the caller. --no-lock: parallel callers each refresh on their own.
--grant-after-cancel: after a cancelled login it posts a client_credentials grant (with the
code_verifier), as one library did. --v1: speaks adapter protocol version 1 (no advance_time,
paths relative to api_base), so the kit falls back to real time."""

import argparse
import base64
import hashlib
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.parse

import requests

ap = argparse.ArgumentParser()
ap.add_argument("--no-lock", action="store_true")
ap.add_argument("--grant-after-cancel", action="store_true")
ap.add_argument("--v1", action="store_true")
opt = ap.parse_args()


class Client:
    def __init__(self, cfg):
        self.cfg, self.tokens, self.skew = cfg, None, 0
        self.lock = threading.Lock()
        self.http = requests.Session()
        self.http.trust_env = False

    def post(self, **form):
        form.update(client_id=self.cfg["client_id"], client_secret=self.cfg["client_secret"])
        return self.http.post(self.cfg["token_url"], data=form, timeout=10)

    def accept(self, r):
        r.raise_for_status()
        t = r.json()
        t["expires_at"] = time.time() + self.skew + t["expires_in"]
        t.setdefault("refresh_token", (self.tokens or {}).get("refresh_token"))
        self.tokens = t

    def refresh_if_expired(self):
        if time.time() + self.skew >= self.tokens["expires_at"]:
            self.accept(
                self.post(grant_type="refresh_token", refresh_token=self.tokens["refresh_token"])
            )

    def call(self, path):
        if opt.no_lock:
            self.refresh_if_expired()
        else:
            with self.lock:
                self.refresh_if_expired()
        base = self.cfg["api_base"] if opt.v1 else self.cfg["product_api_base"]
        r = self.http.get(
            base + path,
            timeout=10,
            headers={"Authorization": "Bearer " + self.tokens["access_token"]},
        )
        r.raise_for_status()

    def login_code(self, emit):
        got, done = {}, threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                got.update(urllib.parse.parse_qsl(urllib.parse.urlsplit(h.path).query))
                h.send_response(200)
                h.end_headers()
                done.set()

            def log_message(h, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        redirect = "http://127.0.0.1:%d/callback" % srv.server_address[1]
        emit(
            {
                "event": "authorize",
                "url": self.cfg["authorize_url"]
                + "?"
                + urllib.parse.urlencode(
                    {
                        "response_type": "code",
                        "client_id": self.cfg["client_id"],
                        "redirect_uri": redirect,
                        "state": state,
                        "code_challenge": challenge,
                        "code_challenge_method": "S256",
                    }
                ),
            }
        )
        done.wait(30)
        srv.shutdown()
        if got.get("state") != state:
            raise LookupError("state_mismatch")
        if "error" in got:
            if opt.grant_after_cancel:
                self.post(grant_type="client_credentials", code_verifier=verifier)
            raise LookupError("access_denied")
        self.accept(
            self.post(
                grant_type="authorization_code",
                code=got["code"],
                redirect_uri=redirect,
                code_verifier=verifier,
            )
        )


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


client = None
for line in sys.stdin:
    m = json.loads(line)
    cmd, seq = m["cmd"], m.get("seq")
    if cmd == "start":
        client = Client(m["config"])
        emit(
            {
                "ready": True,
                "version": 1 if opt.v1 else 2,
                "implementation": {"name": "clock-client"},
            }
        )
        continue
    if cmd == "stop":
        break
    try:
        if cmd == "login_password":
            client.accept(
                client.post(grant_type="password", username=m["username"], password=m["password"])
            )
        elif cmd == "login_code":
            client.login_code(emit)
        elif cmd == "refresh":
            client.accept(
                client.post(
                    grant_type="refresh_token", refresh_token=client.tokens["refresh_token"]
                )
            )
        elif cmd == "advance_time":
            client.skew += int(m["seconds"])
        elif cmd == "call_api":
            errors = []

            def one():
                try:
                    client.call(m["path"])
                except Exception as e:
                    errors.append(e)

            ts = [threading.Thread(target=one) for _ in range(int(m.get("concurrency", 1)))]
            [t.start() for t in ts]
            [t.join() for t in ts]
            if errors:
                raise errors[0]
        else:
            emit({"seq": seq, "skipped": {"reason": cmd + " not supported"}})
            continue
        emit({"seq": seq, "ok": True})
    except LookupError as e:
        emit({"seq": seq, "error": {"kind": str(e)}})
    except Exception as e:
        emit({"seq": seq, "error": {"kind": "other", "message": "%s: %s" % (type(e).__name__, e)}})
