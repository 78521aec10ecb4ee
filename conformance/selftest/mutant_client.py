#!/usr/bin/python3
"""A correct 2BA OAuth client speaking the kit's JSON-lines adapter protocol — and, with
--break FAULT, a deliberately broken one. The kit's self-test runs it once clean and once per
fault; each fault must FAIL exactly the checks for the requirement it breaks.

Faults: no-form-encoding, ignore-rotation, lose-rotated-on-restart, retry-invalid-grant,
parallel-refresh, ignore-retry-after, store-password, no-tls-verify."""

import argparse
import base64
import email.utils
import hashlib
import http.server
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

import requests

FAULTS = ("no-form-encoding", "ignore-rotation", "lose-rotated-on-restart", "retry-invalid-grant",
          "parallel-refresh", "ignore-retry-after", "store-password", "no-tls-verify")


class Relogin(Exception):
    pass


class Failure(Exception):
    def __init__(self, kind, message=""):
        super().__init__(message)
        self.kind = kind


class Client:
    def __init__(self, cfg, fault, emit):
        self.cfg = cfg
        self.fault = fault
        self.emit = emit
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = False if fault == "no-tls-verify" else (cfg.get("ca_file") or True)
        self.store = os.path.join(cfg["state_dir"], "tokens.json")
        self.lock = threading.Lock()
        self.tokens = None
        self.saved_password = None
        self.load()

    # --- persistence -------------------------------------------------------------------------
    def load(self):
        try:
            with open(self.store) as f:
                self.tokens = json.load(f)
        except (OSError, ValueError):
            self.tokens = None

    def save(self, login=False):
        if self.fault == "lose-rotated-on-restart" and not login:
            return  # the bug: only the login's tokens ever reach the disk
        tmp = self.store + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.tokens, f)
        os.replace(tmp, self.store)

    def forget(self):
        self.tokens = None
        if self.fault != "lose-rotated-on-restart":
            try:
                os.remove(self.store)
            except OSError:
                pass

    # --- token endpoint ----------------------------------------------------------------------
    def _post(self, params):
        headers = {"Accept": "application/json"}
        params = dict(params)
        if self.cfg.get("client_auth") == "basic" and self.cfg.get("client_secret"):
            q = urllib.parse.quote_plus
            raw = "%s:%s" % (q(self.cfg["client_id"]), q(self.cfg["client_secret"]))
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        else:
            params["client_id"] = self.cfg["client_id"]
            if self.cfg.get("client_secret"):
                params["client_secret"] = self.cfg["client_secret"]
        if self.fault == "no-form-encoding":
            # 2BA's sample: string concatenation, nothing encoded.
            body = "&".join("%s=%s" % kv for kv in params.items()).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = urllib.parse.urlencode(params).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8"
        try:
            return self.http.post(self.cfg["token_url"], data=body, headers=headers, timeout=20)
        except requests.exceptions.SSLError as e:
            raise Failure("transport", "TLS: %s" % e)
        except requests.RequestException as e:
            raise Failure("transport", str(e))

    def _accept(self, r, login, presented=None):
        try:
            body = r.json()
        except ValueError:
            raise Failure("parse", "token reply is not JSON")
        if str(body.get("token_type", "")).lower() != "bearer" or not body.get("access_token"):
            raise Failure("parse", "not a bearer token reply")
        rt = body.get("refresh_token") or presented
        if self.fault == "ignore-rotation" and presented:
            rt = presented
        exp = body.get("expires_in")
        self.tokens = {"access_token": body["access_token"], "refresh_token": rt,
                       "expires_at": time.time() + int(exp) if exp is not None else None,
                       "lifetime": int(exp) if exp is not None else None}
        self.save(login=login)

    def login_password(self, username, password):
        if self.fault == "store-password":
            self.saved_password = (username, password)
        r = self._post({"grant_type": "password", "username": username, "password": password})
        if r.status_code != 200:
            raise Failure("oauth" if r.status_code < 500 else "server", "login: HTTP %d" % r.status_code)
        self._accept(r, login=True)

    def _retry_after(self, r):
        v = r.headers.get("Retry-After", "1").strip()
        if v.isdigit():
            return int(v)
        try:
            return max(0.0, email.utils.parsedate_to_datetime(v).timestamp() - time.time())
        except (TypeError, ValueError):
            return 1.0

    def refresh(self, seen_access_token=None):
        """Single-flight: the lock, and a generation check so a refresh that another thread
        already did is not repeated."""
        if self.fault == "parallel-refresh":
            return self._refresh_locked(None)
        with self.lock:
            return self._refresh_locked(seen_access_token)

    def _refresh_locked(self, seen_access_token):
        if self.tokens is None or not self.tokens.get("refresh_token"):
            raise Relogin()
        if seen_access_token and self.tokens["access_token"] != seen_access_token:
            return  # someone refreshed while this request was in flight
        rt = self.tokens["refresh_token"]
        attempts = 0
        invalid_grant_retries = 0
        while True:
            attempts += 1
            r = self._post({"grant_type": "refresh_token", "refresh_token": rt})
            if r.status_code == 200:
                self._accept(r, login=False, presented=rt)
                return
            if r.status_code in (429, 503) and attempts < 3:
                if self.fault != "ignore-retry-after":
                    time.sleep(self._retry_after(r))
                continue
            if r.status_code in (429, 503) or r.status_code >= 500:
                raise Failure("server", "HTTP %d" % r.status_code)
            err = None
            try:
                err = r.json().get("error")
            except ValueError:
                pass
            if r.status_code == 400 and err == "invalid_grant" and \
                    self.fault == "retry-invalid-grant" and invalid_grant_retries < 2:
                invalid_grant_retries += 1
                continue
            if r.status_code == 400 and err not in ("invalid_client", "unauthorized_client",
                                                    "unsupported_grant_type", "invalid_scope"):
                # 2BA: an invalid or expired refresh token gets a 400; the user logs in again.
                if self.fault == "store-password" and self.saved_password:
                    self.login_password(*self.saved_password)
                    return
                self.forget()
                raise Relogin()
            raise Failure("oauth", "refresh: HTTP %d %s" % (r.status_code, err))

    # --- product API -------------------------------------------------------------------------
    def _get(self, path, token):
        try:
            return self.http.get(self.cfg["api_base"].rstrip("/") + path,
                                 headers={"Authorization": "Bearer " + token}, timeout=20)
        except requests.RequestException as e:
            raise Failure("transport", str(e))

    def call_once(self, path):
        if self.tokens is None:
            raise Relogin()
        t = self.tokens
        if t.get("expires_at") and time.time() > t["expires_at"] - min(30, (t.get("lifetime") or 60) / 2):
            self.refresh(t["access_token"])
        token = self.tokens["access_token"] if self.tokens else None
        if token is None:
            raise Relogin()
        r = self._get(path, token)
        if r.status_code == 401:
            self.refresh(token)
            if self.tokens is None:
                raise Relogin()
            r = self._get(path, self.tokens["access_token"])
        if r.status_code != 200:
            raise Failure("oauth" if r.status_code < 500 else "server", "API: HTTP %d" % r.status_code)
        return r.status_code

    def call_api(self, path, concurrency):
        if concurrency <= 1:
            return [self.call_once(path)]
        results = [None] * concurrency

        def work(i):
            try:
                results[i] = self.call_once(path)
            except (Relogin, Failure) as e:
                results[i] = e

        threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            if isinstance(r, Exception):
                raise r
        return results

    # --- authorization code ------------------------------------------------------------------
    def login_code(self):
        state = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        got = {}
        done = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                u = urllib.parse.urlsplit(h.path)
                if u.path != "/callback":
                    h.send_response(404)
                    h.end_headers()
                    return
                got.update(dict(urllib.parse.parse_qsl(u.query)))
                h.send_response(200)
                h.send_header("Content-Type", "text/plain")
                h.end_headers()
                h.wfile.write(b"You can close this window.")
                done.set()

            def log_message(h, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        redirect_uri = "http://127.0.0.1:%d/callback" % srv.server_address[1]
        url = self.cfg["authorize_url"] + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": self.cfg["client_id"], "redirect_uri": redirect_uri,
            "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})
        self.emit({"event": "authorize", "url": url})
        try:
            if not done.wait(60):
                raise Failure("timeout", "no redirect")
        finally:
            srv.shutdown()
        if got.get("state") != state:
            raise Failure("state_mismatch", "redirect state does not match")
        if "error" in got:
            raise Failure("access_denied" if got["error"] == "access_denied" else "oauth", got["error"])
        r = self._post({"grant_type": "authorization_code", "code": got.get("code", ""),
                        "redirect_uri": redirect_uri, "code_verifier": verifier})
        if r.status_code != 200:
            raise Failure("oauth", "code exchange: HTTP %d" % r.status_code)
        self._accept(r, login=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--break", dest="fault", choices=FAULTS)
    a = ap.parse_args()
    out_lock = threading.Lock()

    def emit(obj):
        with out_lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    client = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd, seq = msg.get("cmd"), msg.get("seq")
        if cmd == "start":
            client = Client(msg["config"], a.fault, emit)
            emit({"ready": True, "version": 1, "implementation": {
                "name": "kit-selftest-client" + ("/" + a.fault if a.fault else ""), "version": "1",
                "language": "python", "issues": None}})
            continue
        if cmd == "stop":
            break
        try:
            if cmd == "login_password":
                client.login_password(msg["username"], msg["password"])
                emit({"seq": seq, "ok": True})
            elif cmd == "login_code":
                client.login_code()
                emit({"seq": seq, "ok": True})
            elif cmd == "call_api":
                emit({"seq": seq, "ok": True, "results": client.call_api(msg["path"], int(msg.get("concurrency", 1)))})
            elif cmd == "refresh":
                client.refresh()
                emit({"seq": seq, "ok": True})
            elif cmd == "restart":
                client = Client(client.cfg, a.fault, emit)
                emit({"seq": seq, "ok": True})
            elif cmd == "info":
                emit({"seq": seq, "ok": True, "logged_in": client.tokens is not None})
            else:
                emit({"seq": seq, "skipped": {"reason": "unknown command " + str(cmd)}})
        except Relogin:
            emit({"seq": seq, "error": {"kind": "relogin_required", "message": "log in again"}})
        except Failure as e:
            emit({"seq": seq, "error": {"kind": e.kind, "message": str(e)}})


if __name__ == "__main__":
    main()
