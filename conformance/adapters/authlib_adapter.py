#!/usr/bin/python3
"""JSON-lines adapter (ADAPTERS.md, protocol 2) for Authlib (Debian python3-authlib), used the way
its documentation for the requests integration shows: an OAuth2Session that knows the
token_endpoint, so it refreshes by itself when its token has expired, and an update_token hook
that saves every refreshed token. The password grant and the code exchange go through
fetch_token; their result is saved by the application (update_token is called for refreshes
only). The adapter adds nothing the library does not do: no refresh on a 401, no lock around
parallel refreshes, no dropping of a refresh token the server rejected."""

import http.server
import json
import os
import secrets
import sys
import threading

import authlib
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import wrappers as _token_wrappers
from jsonl_common import ClientClock, api_url, call_parallel, emit, ready


# Authlib reads the clock in one module, authlib/oauth2/rfc6749/wrappers.py: OAuth2Token.from_dict
# turns expires_in into expires_at = time.time() + expires_in, and OAuth2Token.is_expired
# compares expires_at with time.time(). advance_time moves that module's clock.
CLOCK = ClientClock(_token_wrappers)


class Adapter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.path = os.path.join(cfg["state_dir"], "token.json")
        token = None
        if os.path.exists(self.path):
            with open(self.path) as f:
                token = json.load(f)
        self.session = self._session(token)

    def _session(self, token, **kw):
        s = OAuth2Session(self.cfg["client_id"], self.cfg.get("client_secret"),
                          token_endpoint_auth_method=self._auth_method(),
                          scope=self.cfg.get("scope"), token=token,
                          token_endpoint=self.cfg["token_url"], update_token=self.update_token,
                          default_timeout=20, **kw)
        s.verify = self.cfg.get("ca_file") or True
        s.trust_env = False  # requests lets REQUESTS_CA_BUNDLE override s.verify otherwise
        return s

    def _auth_method(self):
        if not self.cfg.get("client_secret"):
            return "none"
        return "client_secret_basic" if self.cfg.get("client_auth") == "basic" else "client_secret_post"

    def update_token(self, token, refresh_token=None, access_token=None):
        """The documented hook: called with the new token after every refresh."""
        self.save(token)

    def save(self, token):
        with open(self.path, "w") as f:
            json.dump(dict(token), f)

    def login_password(self, username, password):
        self.session = self._session(None)
        self.save(self.session.fetch_token(self.cfg["token_url"], username=username, password=password))

    def refresh(self):
        if not self.session.token:
            raise LookupError("relogin_required")
        self.session.refresh_token(self.cfg["token_url"])

    def call(self, path):
        r = self.session.get(api_url(self.cfg, path))
        r.raise_for_status()

    def login_code(self):
        got, done = {}, threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                got["url"] = "http://127.0.0.1:%d%s" % (h.server.server_address[1], h.path)
                h.send_response(200)
                h.end_headers()
                done.set()

            def log_message(h, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        redirect = "http://127.0.0.1:%d/callback" % srv.server_address[1]
        s = self._session(None, redirect_uri=redirect, code_challenge_method="S256")
        verifier = secrets.token_urlsafe(48)
        url, state = s.create_authorization_url(self.cfg["authorize_url"], code_verifier=verifier)
        emit({"event": "authorize", "url": url})
        try:
            if not done.wait(60):
                raise LookupError("timeout")
        finally:
            srv.shutdown()
        token = s.fetch_token(self.cfg["token_url"], authorization_response=got["url"],
                              state=state, code_verifier=verifier)
        self.session = s
        self.save(token)


def error_reply(e):
    """The error member of a reply for an exception of the library or of requests."""
    if isinstance(e, LookupError):
        return {"kind": str(e)}
    if isinstance(e, AuthlibBaseError):
        kind = {"invalid_grant": "relogin_required", "access_denied": "access_denied",
                "mismatching_state": "state_mismatch"}.get(e.error, "oauth")
        return {"kind": kind, "message": "%s: %s" % (type(e).__name__, e)}
    if isinstance(e, requests.exceptions.SSLError):
        return {"kind": "transport", "message": "TLS: %s" % e}
    if isinstance(e, (requests.ConnectionError, requests.Timeout)):
        return {"kind": "transport", "message": str(e)}
    if isinstance(e, requests.HTTPError):
        return {"kind": "server" if e.response.status_code >= 500 else "oauth", "message": str(e)}
    if isinstance(e, ValueError):  # a reply that is not JSON (requests' JSONDecodeError)
        return {"kind": "parse", "message": "%s: %s" % (type(e).__name__, e)}
    return {"kind": "other", "message": "%s: %s" % (type(e).__name__, e)}


def main():
    adapter = None
    for line in sys.stdin:
        m = json.loads(line)
        cmd, seq = m.get("cmd"), m.get("seq")
        if cmd == "start":
            adapter = Adapter(m["config"])
            ready(m, {"name": "authlib", "version": authlib.__version__, "language": "python",
                      "homepage": "https://authlib.org/", "issues": "https://github.com/lepture/authlib/issues"})
            continue
        if cmd == "stop":
            break
        try:
            if cmd == "login_password":
                adapter.login_password(m["username"], m["password"])
            elif cmd == "login_code":
                adapter.login_code()
            elif cmd == "refresh":
                adapter.refresh()
            elif cmd == "restart":
                adapter = Adapter(adapter.cfg)
            elif cmd == "call_api":
                call_parallel(adapter.call, m["path"], int(m.get("concurrency", 1)))
            elif cmd == "info":
                pass
            elif cmd == "advance_time":
                CLOCK.advance(int(m["seconds"]))
            else:
                emit({"seq": seq, "skipped": {"reason": "%s not supported" % cmd}})
                continue
            emit({"seq": seq, "ok": True})
        except Exception as e:
            emit({"seq": seq, "error": error_reply(e)})


if __name__ == "__main__":
    main()
