#!/usr/bin/python3
"""JSON-lines adapter (ADAPTERS.md, protocol 2) for requests-oauthlib (Debian
python3-requests-oauthlib), used the way its documentation shows: OAuth2Session with
auto_refresh_url and a token_updater that saves the token, LegacyApplicationClient for the
password grant, WebApplicationClient (the default) for the code flow. The adapter adds nothing
the library does not do: no refresh on a 401, no lock around parallel refreshes, no dropping of
a refresh token the server rejected."""

import os

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback redirect over http
import oauthlib  # noqa: E402
import requests  # noqa: E402
import requests_oauthlib  # noqa: E402
from oauthlib.oauth2 import LegacyApplicationClient, OAuth2Error, TokenExpiredError  # noqa: E402
from oauthlib.oauth2.rfc6749 import parameters as _token_parameters  # noqa: E402
from oauthlib.oauth2.rfc6749.clients import base as _client_base  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402

from jsonl_common import (ClientClock, RedirectListener, TokenFile, api_url, common_error_reply,  # noqa: E402
                          emit, serve)

# oauthlib reads the clock in two modules: oauthlib/oauth2/rfc6749/parameters.py
# (parse_token_response sets expires_at = time.time() + expires_in) and
# oauthlib/oauth2/rfc6749/clients/base.py (Client.add_token raises TokenExpiredError when
# _expires_at < time.time(), which makes OAuth2Session.request refresh). advance_time moves both.
CLOCK = ClientClock(_token_parameters, _client_base)


class Adapter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.store = TokenFile(cfg)
        self.session = self._session(self.store.load(), LegacyApplicationClient(client_id=cfg["client_id"]))

    def _session(self, token, client=None, **kw):
        basic = self.cfg.get("client_auth") == "basic"
        s = OAuth2Session(client_id=self.cfg["client_id"], client=client, token=token,
                          auto_refresh_url=self.cfg["token_url"],
                          auto_refresh_kwargs={} if basic else self._creds(),
                          token_updater=self.store.save, **kw)
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

    def login_password(self, username, password):
        self.session = self._session(None, LegacyApplicationClient(client_id=self.cfg["client_id"]))
        tok = self.session.fetch_token(self.cfg["token_url"], username=username, password=password,
                                       **self._auth_kwargs())
        self.store.save(tok)

    def refresh(self):
        if not self.session.token:
            raise LookupError("relogin_required")
        kw = {"auth": requests.auth.HTTPBasicAuth(self.cfg["client_id"], self.cfg["client_secret"])} \
            if self.cfg.get("client_auth") == "basic" else {}  # body credentials: auto_refresh_kwargs
        tok = self.session.refresh_token(self.cfg["token_url"], verify=self.cfg.get("ca_file") or True, **kw)
        self.store.save(tok)

    def call(self, path):
        if not self.session.token:
            raise LookupError("relogin_required")
        r = self.session.get(api_url(self.cfg, path), timeout=20)
        r.raise_for_status()

    def login_code(self):
        listener = RedirectListener()
        s = self._session(None, redirect_uri=listener.redirect_uri)
        url, _ = s.authorization_url(self.cfg["authorize_url"])
        emit({"event": "authorize", "url": url})
        tok = s.fetch_token(self.cfg["token_url"], authorization_response=listener.wait(), **self._auth_kwargs())
        self.session = s
        self.store.save(tok)


def error_reply(e):
    """The error member of a reply for an exception of oauthlib, requests or the adapter."""
    if isinstance(e, (OAuth2Error, TokenExpiredError)):
        kind = "relogin_required" if getattr(e, "error", "") == "invalid_grant" else "oauth"
        return {"kind": kind, "message": "%s: %s" % (type(e).__name__, e)}
    return common_error_reply(e)


def main():
    serve(Adapter, {"name": "requests-oauthlib", "version": requests_oauthlib.__version__,
                    "language": "python", "oauthlib": oauthlib.__version__,
                    "homepage": "https://github.com/requests/requests-oauthlib",
                    "issues": "https://github.com/requests/requests-oauthlib/issues"},
          CLOCK, error_reply)


if __name__ == "__main__":
    main()
