#!/usr/bin/python3
"""A correct 2BA OAuth client speaking the kit's JSON-lines adapter protocol (version 2) — and,
with --break FAULT, a deliberately broken one. The kit's self-test runs it once clean and once
per fault; each fault must FAIL exactly the checks for the requirement it breaks
(selftest/expected/<fault>.json). A variant (also chosen with --break, so that the self-test
runs it the same way) is correct but differs from the clean client the way popular clients do:
it must FAIL nothing. `--list` prints the faults and the variants."""

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

# Each fault is one bug, as real clients have them.
FAULTS = {
    "no-form-encoding": "the token request body is built by string concatenation, nothing encoded",
    "ignore-rotation": "the refresh token of the login is kept; rotated ones are ignored",
    "lose-rotated-on-restart": "only the login's tokens reach the store",
    "retry-invalid-grant": "a refresh answered 400 invalid_grant is repeated twice",
    "parallel-refresh": "no lock: parallel callers refresh each on their own",
    "ignore-retry-after": "503/429 are retried at once",
    "store-password": "the password is kept and posted again after a 400 on refresh",
    "no-tls-verify": "certificate verification is off",
    "token-put": "token requests are sent with PUT",
    "json-body": "the token request body is JSON",
    "secret-in-query": "the client secret is also put in the token URL's query",
    "duplicate-client-id": "client_id is sent twice in the token request body",
    "refresh-grant-typo": "refreshes say grant_type=refresh",
    "both-auth-methods": "HTTP Basic and client_secret in the body together",
    "basic-raw": "the Basic header carries id:secret without form-encoding them first",
    "secret-without-id": "client_secret in the body without client_id",
    "refresh-without-auth": "refresh requests carry no client authentication",
    "wrong-client-id": "the body's client_id has a stray suffix",
    "no-username": "the password grant leaves out the username",
    "secret-in-authorize-url": "the authorization URL carries the client secret",
    "weak-state": "the state is a short constant",
    "no-pkce": "no PKCE in the code flow",
    "verifier-mismatch": "the code exchange sends a verifier that does not match the challenge",
    "pkce-downgrade": "after error=invalid_request the next authorization uses PKCE plain",
    "localhost-redirect": "the loopback redirect URI names localhost, not 127.0.0.1",
    "no-state-check": "the redirect's state is not compared",
    "grant-after-cancel": "after a cancelled login a client_credentials grant is posted",
    "redirect-uri-differs": "the code exchange sends another redirect_uri than the authorization",
    "code-reuse": "a code exchange whose reply was lost is sent again with the same code",
    "stale-access-token": "an explicit refresh keeps the old access token for API calls",
    "strict-token-type": 'only token_type "Bearer" spelt exactly so is accepted',
    "strict-members": "a token reply with an array member is refused",
    "truncate-tokens": "tokens are stored cut to 1024 characters",
    "never-refresh": "no refresh on its own clock and none after a 401",
    "own-clock-only": "refreshes on its own clock only; a 401 is returned to the caller",
    "fixed-margin": "refreshes 30 s before expiry whatever the lifetime",
    "refresh-widens-scope": 'refreshes ask for scope "openid offline_access" though the login asked none',
    "drop-unrotated": "a refresh reply without refresh_token drops the current one",
    "retry-401-loop": "a 401 on the API leads to up to five refresh-and-retry rounds",
    "bare-400-kept": "a 400 on refresh without invalid_grant keeps the refresh token",
    "retry-terminal": "invalid_client, unauthorized_client and invalid_scope are retried five times",
    "token-in-query-too": "API calls carry the access token in the header and in the query",
    "token-in-query": "API calls carry the access token in the query only, no Authorization header",
}

# Correct clients that differ from the clean one on the wire as popular clients do: the kit
# must judge what a server reads, not the bytes.
VARIANTS = {
    "js-form-encoding": "form bodies encoded as Node's querystring and encodeURIComponent do "
    "(simple-oauth2): ! ' ( ) * ~ left raw",
}

# encodeURIComponent's unreserved set: letters, digits and - _ . ! ~ * ' ( ).
JS_COMPONENT_SAFE = "-_.!~*'()"


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
        self.clock_file = os.path.join(cfg["state_dir"], "clock.json")
        self.lock = threading.Lock()
        self.tokens = None
        self.saved_password = None
        self.pkce_refused = False
        self.load()

    # --- the client's clock: real time plus what advance_time added ---------------------------
    def skew(self):
        try:
            with open(self.clock_file) as f:
                return json.load(f)["skew"]
        except (OSError, ValueError, KeyError):
            return 0

    def now(self):
        return time.time() + self.skew()

    def advance(self, seconds):
        skew = self.skew() + seconds  # read before "w" empties the file
        with open(self.clock_file, "w") as f:
            json.dump({"skew": skew}, f)

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
        grant = params["grant_type"]
        cid, secret = self.cfg["client_id"], self.cfg.get("client_secret")
        basic = self.cfg.get("client_auth") == "basic" and secret
        if self.fault == "refresh-without-auth" and grant == "refresh_token":
            pass
        elif basic or self.fault == "both-auth-methods":
            if self.fault == "basic-raw":
                raw = "%s:%s" % (cid, secret)
            else:
                q = urllib.parse.quote_plus
                raw = "%s:%s" % (q(cid), q(secret or ""))
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        if not (self.fault == "refresh-without-auth" and grant == "refresh_token") and (
            not basic or self.fault == "both-auth-methods"
        ):
            if self.fault != "secret-without-id":
                params["client_id"] = cid + ("-x" if self.fault == "wrong-client-id" else "")
            if secret:
                params["client_secret"] = secret
        if self.fault == "refresh-grant-typo" and grant == "refresh_token":
            params["grant_type"] = "refresh"
        if self.fault == "refresh-widens-scope" and grant == "refresh_token":
            params["scope"] = "openid offline_access"
        url = self.cfg["token_url"]
        if self.fault == "secret-in-query" and secret:
            url += "?" + urllib.parse.urlencode({"client_secret": secret})
        if self.fault == "no-form-encoding":
            # 2BA's sample: string concatenation, nothing encoded.
            body = "&".join("%s=%s" % kv for kv in params.items()).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif self.fault == "js-form-encoding":
            # Node's querystring.stringify: encodeURIComponent per key and value, space as %20.
            q = urllib.parse.quote
            body = "&".join(
                "%s=%s" % (q(k, safe=JS_COMPONENT_SAFE), q(v, safe=JS_COMPONENT_SAFE))
                for k, v in params.items()
            ).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif self.fault == "json-body":
            body = json.dumps(params).encode()
            headers["Content-Type"] = "application/json"
        else:
            pairs = list(params.items())
            if self.fault == "duplicate-client-id" and "client_id" in params:
                pairs.append(("client_id", params["client_id"]))
            body = urllib.parse.urlencode(pairs).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8"
        method = "PUT" if self.fault == "token-put" else "POST"
        try:
            return self.http.request(method, url, data=body, headers=headers, timeout=20)
        except requests.exceptions.SSLError as e:
            raise Failure("transport", "TLS: %s" % e)
        except requests.RequestException as e:
            raise Failure("transport", str(e))

    def _accept(self, r, login, presented=None, keep_access_token=False):
        try:
            body = r.json()
        except ValueError:
            raise Failure("parse", "token reply is not JSON")
        tt = str(body.get("token_type", ""))
        if (
            tt != "Bearer" if self.fault == "strict-token-type" else tt.lower() != "bearer"
        ) or not body.get("access_token"):
            raise Failure("parse", "not a bearer token reply (token_type %r)" % tt)
        if self.fault == "strict-members" and any(isinstance(v, list) for v in body.values()):
            raise Failure("parse", "unexpected structured member in the token reply")
        rt = body.get("refresh_token") or (None if self.fault == "drop-unrotated" else presented)
        if self.fault == "ignore-rotation" and presented:
            rt = presented
        at = body["access_token"]
        if keep_access_token and self.tokens:
            at = self.tokens["access_token"]
        if self.fault == "truncate-tokens":
            at, rt = at[:1024], rt[:1024] if rt else rt
        exp = body.get("expires_in")
        self.tokens = {
            "access_token": at,
            "refresh_token": rt,
            "expires_at": self.now() + int(exp) if exp is not None else None,
            "lifetime": int(exp) if exp is not None else None,
        }
        self.save(login=login)

    def login_password(self, username, password):
        if self.fault == "store-password":
            self.saved_password = (username, password)
        form = {"grant_type": "password", "username": username, "password": password}
        if self.fault == "no-username":
            del form["username"]
        r = self._post(form)
        if r.status_code != 200:
            raise Failure(
                "oauth" if r.status_code < 500 else "server", "login: HTTP %d" % r.status_code
            )
        self._accept(r, login=True)

    def _retry_after(self, r):
        v = r.headers.get("Retry-After", "1").strip()
        if v.isdigit():
            return int(v)
        try:
            return max(0.0, email.utils.parsedate_to_datetime(v).timestamp() - time.time())
        except (TypeError, ValueError):
            return 1.0

    def refresh(self, seen_access_token=None, explicit=False):
        """Single-flight: the lock, and a generation check so a refresh that another thread
        already did is not repeated."""
        if self.fault == "parallel-refresh":
            return self._refresh_locked(None, explicit)
        with self.lock:
            return self._refresh_locked(seen_access_token, explicit)

    def _refresh_locked(self, seen_access_token, explicit=False):
        if self.tokens is None or not self.tokens.get("refresh_token"):
            raise Relogin()
        if seen_access_token and self.tokens["access_token"] != seen_access_token:
            return  # someone refreshed while this request was in flight
        rt = self.tokens["refresh_token"]
        attempts = 0
        repeats = 0
        while True:
            attempts += 1
            r = self._post({"grant_type": "refresh_token", "refresh_token": rt})
            if r.status_code == 200:
                self._accept(
                    r,
                    login=False,
                    presented=rt,
                    keep_access_token=explicit and self.fault == "stale-access-token",
                )
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
            if (
                r.status_code == 400
                and err == "invalid_grant"
                and self.fault == "retry-invalid-grant"
                and repeats < 2
            ):
                repeats += 1
                continue
            terminal = (
                "invalid_client",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            )
            if err in terminal and self.fault == "retry-terminal" and repeats < 5:
                repeats += 1
                continue
            if (
                r.status_code == 400
                and err != "invalid_grant"
                and err not in terminal
                and self.fault == "bare-400-kept"
            ):
                raise Failure("oauth", "refresh: HTTP 400 %s (kept the token)" % err)
            if r.status_code == 400 and err not in terminal:
                # 2BA: an invalid or expired refresh token gets a 400; the user logs in again.
                if self.fault == "store-password" and self.saved_password:
                    self.login_password(*self.saved_password)
                    return
                self.forget()
                raise Relogin()
            raise Failure("oauth", "refresh: HTTP %d %s" % (r.status_code, err))

    # --- product API -------------------------------------------------------------------------
    def _get(self, path, token):
        url = self.cfg["product_api_base"].rstrip("/") + path
        headers = {"Authorization": "Bearer " + token}
        if self.fault in ("token-in-query-too", "token-in-query"):
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"access_token": token})
            if self.fault == "token-in-query":
                del headers["Authorization"]
        try:
            return self.http.get(url, headers=headers, timeout=20)
        except requests.RequestException as e:
            raise Failure("transport", str(e))

    def _margin(self, t):
        if self.fault == "fixed-margin":
            return 30
        return min(30, (t.get("lifetime") or 60) / 2)

    def call_once(self, path):
        if self.tokens is None:
            raise Relogin()
        t = self.tokens
        if (
            self.fault != "never-refresh"
            and t.get("expires_at")
            and self.now() > t["expires_at"] - self._margin(t)
        ):
            self.refresh(t["access_token"])
        token = self.tokens["access_token"] if self.tokens else None
        if token is None:
            raise Relogin()
        r = self._get(path, token)
        rounds = 5 if self.fault == "retry-401-loop" else 1
        while (
            r.status_code == 401
            and rounds > 0
            and self.fault not in ("never-refresh", "own-clock-only")
        ):
            rounds -= 1
            self.refresh(None if self.fault == "retry-401-loop" else token)
            if self.tokens is None:
                raise Relogin()
            token = self.tokens["access_token"]
            r = self._get(path, token)
        if r.status_code != 200:
            raise Failure(
                "oauth" if r.status_code < 500 else "server", "API: HTTP %d" % r.status_code
            )
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
        state = "state1" if self.fault == "weak-state" else secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        method = "S256"
        if self.fault == "pkce-downgrade" and self.pkce_refused:
            challenge, method = verifier, "plain"
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
        threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        host = "localhost" if self.fault == "localhost-redirect" else "127.0.0.1"
        redirect_uri = "http://%s:%d/callback" % (host, srv.server_address[1])
        query = {
            "response_type": "code",
            "client_id": self.cfg["client_id"],
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if self.fault != "no-pkce":
            query.update(code_challenge=challenge, code_challenge_method=method)
        if self.fault == "secret-in-authorize-url":
            query["client_secret"] = self.cfg.get("client_secret") or ""
        self.emit(
            {
                "event": "authorize",
                "url": self.cfg["authorize_url"] + "?" + urllib.parse.urlencode(query),
            }
        )
        try:
            if not done.wait(
                8
            ):  # the kit delivers at once; a hung login would only slow the self-test
                raise Failure("timeout", "no redirect")
        finally:
            srv.shutdown()
        if got.get("state") != state and self.fault != "no-state-check":
            raise Failure("state_mismatch", "redirect state does not match")
        if "error" in got:
            if got["error"] == "invalid_request":
                self.pkce_refused = True
            if self.fault == "grant-after-cancel":
                self._post({"grant_type": "client_credentials", "code_verifier": verifier})
            raise Failure(
                "access_denied" if got["error"] == "access_denied" else "oauth", got["error"]
            )
        if self.fault == "redirect-uri-differs":
            redirect_uri += "/"
        exchange = {
            "grant_type": "authorization_code",
            "code": got.get("code", ""),
            "redirect_uri": redirect_uri,
        }
        if self.fault != "no-pkce":
            exchange["code_verifier"] = (
                secrets.token_urlsafe(48) if self.fault == "verifier-mismatch" else verifier
            )
        try:
            r = self._post(exchange)
        except Failure:
            if self.fault != "code-reuse":
                raise
            r = self._post(exchange)
        if r.status_code != 200:
            raise Failure("oauth", "code exchange: HTTP %d" % r.status_code)
        self._accept(r, login=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--break",
        dest="fault",
        choices=sorted(FAULTS) + sorted(VARIANTS),
        help="a fault, or a correct variant",
    )
    ap.add_argument("--list", action="store_true", help="print the faults and exit")
    a = ap.parse_args()
    if a.list:
        for name, what in sorted(FAULTS.items()):
            print("%-24s %s" % (name, what))
        for name, what in sorted(VARIANTS.items()):
            print("%-24s (correct) %s" % (name, what))
        return
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
            emit(
                {
                    "ready": True,
                    "version": 2,
                    "implementation": {
                        "name": "kit-selftest-client" + ("/" + a.fault if a.fault else ""),
                        "version": "2",
                        "language": "python",
                        "issues": None,
                    },
                }
            )
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
                emit(
                    {
                        "seq": seq,
                        "ok": True,
                        "results": client.call_api(msg["path"], int(msg.get("concurrency", 1))),
                    }
                )
            elif cmd == "refresh":
                client.refresh(explicit=True)
                emit({"seq": seq, "ok": True})
            elif cmd == "advance_time":
                client.advance(int(msg["seconds"]))
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
