#!/usr/bin/python3
"""JSON-lines adapter (ADAPTERS.md, protocol 2) for requests-oauthlib (Debian
python3-requests-oauthlib), used the way its documentation shows: OAuth2Session with
auto_refresh_url and a token_updater that saves the token, LegacyApplicationClient for the
password grant, WebApplicationClient (the default) for the code flow. The adapter adds nothing
the library does not do: no refresh on a 401, no lock around parallel refreshes, no dropping of
a refresh token the server rejected.

With --fix (`--client requests-oauthlib+fix`) it adds what COMPATIBILITY.md recommends, the code
between the 2ba-fix markers, as an application would: the session is made without
auto_refresh_url and TwoBASession refreshes instead."""

import os
import sys

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback redirect over http
try:
    import requests_oauthlib  # noqa: E402
except ImportError:  # the kit reports the adapter as unavailable
    sys.stderr.write(
        "requests-oauthlib adapter: requests-oauthlib is missing "
        "(apt-get install python3-requests-oauthlib)\n"
    )
    sys.exit(127)
import oauthlib  # noqa: E402
import requests  # noqa: E402
from oauthlib.oauth2 import LegacyApplicationClient, TokenExpiredError  # noqa: E402
from oauthlib.oauth2.rfc6749 import parameters as _token_parameters  # noqa: E402
from oauthlib.oauth2.rfc6749.clients import base as _client_base  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402

from jsonl_common import (
    ClientClock,
    RedirectListener,
    TokenFile,
    api_url,
    common_error_reply,  # noqa: E402
    emit,
    serve,
)

# 2ba-fix:begin
import threading
import time

from oauthlib.oauth2 import OAuth2Error


class LoginRequired(Exception):
    """2BA refused the refresh token, or there is none: send the user to the login."""


def raise_unless_400(r):
    """refresh_token_response hook: a 5xx or 429 says nothing about the refresh token."""
    if r.status_code != 400:
        r.raise_for_status()
    return r


class TwoBASession:
    """Wraps an OAuth2Session made WITHOUT auto_refresh_url: one refresh at a time, a refresh and
    one retry after a 401, and a refresh token that 2BA refused (400) dropped."""

    def __init__(self, session, token_url, save_token, delete_saved_token, **refresh_kwargs):
        self.session, self.token_url = session, token_url
        self.save_token, self.delete_saved_token = save_token, delete_saved_token
        self.refresh_kwargs = refresh_kwargs  # client_id and client_secret, or auth=
        self.lock = threading.Lock()
        session.register_compliance_hook("refresh_token_response", raise_unless_400)

    def refresh(self, seen_access_token):
        with self.lock:
            if not self.session.token.get("refresh_token"):
                raise LoginRequired()
            if self.session.access_token != seen_access_token:
                return  # another thread refreshed meanwhile
            try:
                token = self.session.refresh_token(self.token_url, **self.refresh_kwargs)
            except OAuth2Error:  # 400 invalid_grant, or a bare 400 (MissingTokenError)
                self.session.token = {}
                self.delete_saved_token()
                raise LoginRequired()
            self.save_token(token)

    def get(self, url, **kwargs):
        if not self.session.token:
            raise LoginRequired()
        if self.session.token.get("expires_at", float("inf")) < time.time():
            self.refresh(self.session.access_token)
        seen = self.session.access_token
        r = self.session.get(url, **kwargs)
        if r.status_code == 401:  # revoked early, or no expires_in: refresh once, retry once
            self.refresh(seen)
            r = self.session.get(url, **kwargs)
        return r


# 2ba-fix:end

# oauthlib reads the clock in two modules: oauthlib/oauth2/rfc6749/parameters.py
# (parse_token_response sets expires_at = time.time() + expires_in) and
# oauthlib/oauth2/rfc6749/clients/base.py (Client.add_token raises TokenExpiredError when
# _expires_at < time.time(), which makes OAuth2Session.request refresh). advance_time moves both.
# The fix above reads time.time() of this module, so it moves too (after the fix's `import time`).
CLOCK = ClientClock(_token_parameters, _client_base, sys.modules[__name__])
FIX = "--fix" in sys.argv[1:]


class Adapter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.store = TokenFile(cfg)
        self.session = self._session(
            self.store.load(), LegacyApplicationClient(client_id=cfg["client_id"])
        )

    @property
    def session(self):
        return self._plain

    @session.setter
    def session(self, s):
        self._plain = s
        self.fixed = (
            TwoBASession(
                s,
                self.cfg["token_url"],
                self.store.save,
                self.store.delete,
                verify=self.cfg.get("ca_file") or True,
                **self._refresh_auth()
            )
            if FIX
            else None
        )

    def _refresh_auth(self):
        if self.cfg.get("client_auth") == "basic":
            return {
                "auth": requests.auth.HTTPBasicAuth(
                    self.cfg["client_id"], self.cfg["client_secret"]
                )
            }
        return self._creds()

    def _session(self, token, client=None, **kw):
        basic = self.cfg.get("client_auth") == "basic"
        if not FIX:  # the fix refreshes itself (TwoBASession)
            kw.update(
                auto_refresh_url=self.cfg["token_url"],
                auto_refresh_kwargs={} if basic else self._creds(),
                token_updater=self.store.save,
            )
        s = OAuth2Session(client_id=self.cfg["client_id"], client=client, token=token, **kw)
        s.verify = self.cfg.get("ca_file") or True
        s.trust_env = False
        return s

    def _creds(self):
        return {"client_id": self.cfg["client_id"], "client_secret": self.cfg.get("client_secret")}

    def _auth_kwargs(self):
        # fetch_token and refresh_token take their own `verify` (default True), not the session's.
        verify = self.cfg.get("ca_file") or True
        if self.cfg.get("client_auth") == "basic":
            return {
                "auth": requests.auth.HTTPBasicAuth(
                    self.cfg["client_id"], self.cfg["client_secret"]
                ),
                "verify": verify,
            }
        return {
            "include_client_id": True,
            "client_secret": self.cfg.get("client_secret"),
            "verify": verify,
        }

    def login_password(self, username, password):
        self.session = self._session(None, LegacyApplicationClient(client_id=self.cfg["client_id"]))
        tok = self.session.fetch_token(
            self.cfg["token_url"], username=username, password=password, **self._auth_kwargs()
        )
        self.store.save(tok)

    def refresh(self):
        if not self.session.token:
            raise LookupError("relogin_required")
        if self.fixed:
            return self.fixed.refresh(self.session.access_token)
        kw = (
            {"auth": requests.auth.HTTPBasicAuth(self.cfg["client_id"], self.cfg["client_secret"])}
            if self.cfg.get("client_auth") == "basic"
            else {}
        )  # body credentials: auto_refresh_kwargs
        tok = self.session.refresh_token(
            self.cfg["token_url"], verify=self.cfg.get("ca_file") or True, **kw
        )
        self.store.save(tok)

    def call(self, path):
        if not self.session.token:
            raise LookupError("relogin_required")
        r = (self.fixed or self.session).get(api_url(self.cfg, path), timeout=20)
        r.raise_for_status()

    def login_code(self):
        listener = RedirectListener()
        s = self._session(None, redirect_uri=listener.redirect_uri)
        url, _ = s.authorization_url(self.cfg["authorize_url"])
        emit({"event": "authorize", "url": url})
        tok = s.fetch_token(
            self.cfg["token_url"], authorization_response=listener.wait(), **self._auth_kwargs()
        )
        self.session = s
        self.store.save(tok)


def error_reply(e):
    """The error member of a reply for an exception of oauthlib, requests or the adapter."""
    if isinstance(e, LoginRequired):
        return {"kind": "relogin_required", "message": "the refresh token is gone or refused"}
    if isinstance(e, (OAuth2Error, TokenExpiredError)):
        kind = "relogin_required" if getattr(e, "error", "") == "invalid_grant" else "oauth"
        return {"kind": kind, "message": "%s: %s" % (type(e).__name__, e)}
    return common_error_reply(e)


def main():
    serve(
        Adapter,
        {
            "name": "requests-oauthlib",
            "version": requests_oauthlib.__version__,
            "language": "python",
            "oauthlib": oauthlib.__version__,
            "homepage": "https://github.com/requests/requests-oauthlib",
            "issues": "https://github.com/requests/requests-oauthlib/issues",
        },
        CLOCK,
        error_reply,
    )


if __name__ == "__main__":
    main()
