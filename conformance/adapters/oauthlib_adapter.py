#!/usr/bin/python3
"""JSON-lines adapter for requests-oauthlib (Debian python3-requests-oauthlib), used the way
its documentation shows: OAuth2Session with auto_refresh_url and a token_updater that saves
the token, LegacyApplicationClient for the password grant, WebApplicationClient for the code
flow. The adapter adds nothing the library does not do (no refresh on a 401, no lock).
Adapter protocol 2: advance_time moves the token's expires_at earlier, which is the clock
OAuth2Session refreshes by."""

import http.server
import json
import os
import sys
import threading
import urllib.parse

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback redirect over http
import oauthlib  # noqa: E402
import requests  # noqa: E402
import requests_oauthlib  # noqa: E402
from oauthlib.oauth2 import LegacyApplicationClient, OAuth2Error, TokenExpiredError  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Adapter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.path = os.path.join(cfg["state_dir"], "token.json")
        token = None
        if os.path.exists(self.path):
            with open(self.path) as f:
                token = json.load(f)
        self.session = self._session(token, LegacyApplicationClient(client_id=cfg["client_id"]))

    def _session(self, token, client=None, **kw):
        basic = self.cfg.get("client_auth") == "basic"
        s = OAuth2Session(client_id=self.cfg["client_id"], client=client, token=token,
                          auto_refresh_url=self.cfg["token_url"],
                          auto_refresh_kwargs={} if basic else self._creds(),
                          token_updater=self.save, **kw)
        s.verify = self.cfg.get("ca_file") or True
        s.trust_env = False
        return s

    def _creds(self):
        return {"client_id": self.cfg["client_id"], "client_secret": self.cfg.get("client_secret")}

    def _auth_kwargs(self):
        # fetch_token and refresh_token take their own `verify` (default True), not the session's.
        verify = self.cfg.get("ca_file") or True
        if self.cfg.get("client_auth") == "basic":
            return {"auth": requests.auth.HTTPBasicAuth(self.cfg["client_id"], self.cfg["client_secret"]),
                    "verify": verify}
        return {"include_client_id": True, "client_secret": self.cfg.get("client_secret"), "verify": verify}

    def save(self, token):
        with open(self.path, "w") as f:
            json.dump(token, f)

    def login_password(self, username, password):
        self.session = self._session(None, LegacyApplicationClient(client_id=self.cfg["client_id"]))
        tok = self.session.fetch_token(self.cfg["token_url"], username=username, password=password,
                                       **self._auth_kwargs())
        self.save(tok)

    def refresh(self):
        if not self.session.token:
            raise LookupError("relogin_required")
        kw = {"auth": requests.auth.HTTPBasicAuth(self.cfg["client_id"], self.cfg["client_secret"])} \
            if self.cfg.get("client_auth") == "basic" else {}  # body credentials: auto_refresh_kwargs
        tok = self.session.refresh_token(self.cfg["token_url"], verify=self.cfg.get("ca_file") or True, **kw)
        self.save(tok)

    def call(self, path):
        if not self.session.token:
            raise LookupError("relogin_required")
        r = self.session.get(self.cfg["product_api_base"].rstrip("/") + path, timeout=20)
        r.raise_for_status()

    def advance_time(self, seconds):
        tok = dict(self.session.token or {})
        if "expires_at" in tok:
            tok["expires_at"] = tok["expires_at"] - seconds
            self.session.token = tok  # populate_token_attributes: expires_at sets the expiry
            self.save(tok)

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
        s = self._session(None, redirect_uri=redirect)
        url, state = s.authorization_url(self.cfg["authorize_url"])
        emit({"event": "authorize", "url": url})
        if not done.wait(60):
            srv.shutdown()
            raise LookupError("timeout")
        srv.shutdown()
        tok = s.fetch_token(self.cfg["token_url"], authorization_response=got["url"], **self._auth_kwargs())
        self.session = s
        self.save(tok)


def main():
    adapter = None
    for line in sys.stdin:
        m = json.loads(line)
        cmd, seq = m.get("cmd"), m.get("seq")
        if cmd == "start":
            adapter = Adapter(m["config"])
            emit({"ready": True, "version": 2, "implementation": {
                "name": "requests-oauthlib", "version": requests_oauthlib.__version__,
                "language": "python", "oauthlib": oauthlib.__version__,
                "homepage": "https://github.com/requests/requests-oauthlib",
                "issues": "https://github.com/requests/requests-oauthlib/issues"}})
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
            elif cmd == "advance_time":
                adapter.advance_time(int(m["seconds"]))
            elif cmd == "call_api":
                errors = []

                def one():
                    try:
                        adapter.call(m["path"])
                    except Exception as e:  # reported below
                        errors.append(e)
                ts = [threading.Thread(target=one) for _ in range(int(m.get("concurrency", 1)))]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                if errors:
                    raise errors[0]
            else:
                emit({"seq": seq, "skipped": {"reason": "%s not supported" % cmd}})
                continue
            emit({"seq": seq, "ok": True})
        except LookupError as e:
            emit({"seq": seq, "error": {"kind": str(e)}})
        except (OAuth2Error, TokenExpiredError) as e:
            kind = "relogin_required" if getattr(e, "error", "") == "invalid_grant" else "oauth"
            emit({"seq": seq, "error": {"kind": kind, "message": "%s: %s" % (type(e).__name__, e)}})
        except requests.exceptions.SSLError as e:
            emit({"seq": seq, "error": {"kind": "transport", "message": "TLS: %s" % e}})
        except requests.ConnectionError as e:
            emit({"seq": seq, "error": {"kind": "transport", "message": str(e)}})
        except requests.HTTPError as e:
            emit({"seq": seq, "error": {"kind": "server" if e.response.status_code >= 500 else "oauth",
                                        "message": str(e)}})
        except Exception as e:
            emit({"seq": seq, "error": {"kind": "other", "message": "%s: %s" % (type(e).__name__, e)}})


if __name__ == "__main__":
    main()
