#!/usr/bin/python3
"""JSON-lines adapter (ADAPTERS.md, protocol 2) for Authlib (Debian python3-authlib), used the way
its documentation for the requests integration shows: an OAuth2Session that knows the
token_endpoint, so it refreshes by itself when its token has expired, and an update_token hook
that saves every refreshed token. The password grant and the code exchange go through
fetch_token; their result is saved by the application (update_token is called for refreshes
only). The adapter adds nothing the library does not do: no refresh on a 401, no lock around
parallel refreshes, no dropping of a refresh token the server rejected."""

import secrets

import authlib
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import wrappers as _token_wrappers
from jsonl_common import (ClientClock, RedirectListener, TokenFile, api_url, common_error_reply,
                          emit, serve)


# Authlib reads the clock in one module, authlib/oauth2/rfc6749/wrappers.py: OAuth2Token.from_dict
# turns expires_in into expires_at = time.time() + expires_in, and OAuth2Token.is_expired
# compares expires_at with time.time(). advance_time moves that module's clock.
CLOCK = ClientClock(_token_wrappers)


class Adapter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.store = TokenFile(cfg)
        self.session = self._session(self.store.load())

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
        self.store.save(token)

    def login_password(self, username, password):
        self.session = self._session(None)
        self.store.save(self.session.fetch_token(self.cfg["token_url"], username=username, password=password))

    def refresh(self):
        if not self.session.token:
            raise LookupError("relogin_required")
        self.session.refresh_token(self.cfg["token_url"])

    def call(self, path):
        r = self.session.get(api_url(self.cfg, path))
        r.raise_for_status()

    def login_code(self):
        listener = RedirectListener()
        s = self._session(None, redirect_uri=listener.redirect_uri, code_challenge_method="S256")
        verifier = secrets.token_urlsafe(48)
        url, state = s.create_authorization_url(self.cfg["authorize_url"], code_verifier=verifier)
        emit({"event": "authorize", "url": url})
        token = s.fetch_token(self.cfg["token_url"], authorization_response=listener.wait(),
                              state=state, code_verifier=verifier)
        self.session = s
        self.store.save(token)


def error_reply(e):
    """The error member of a reply for an exception of Authlib, requests or the adapter."""
    if isinstance(e, AuthlibBaseError):
        kind = {"invalid_grant": "relogin_required", "missing_token": "relogin_required",
                "access_denied": "access_denied", "mismatching_state": "state_mismatch"}.get(e.error, "oauth")
        return {"kind": kind, "message": "%s: %s" % (type(e).__name__, e)}
    return common_error_reply(e)


def main():
    serve(Adapter, {"name": "authlib", "version": authlib.__version__, "language": "python",
                    "homepage": "https://authlib.org/", "issues": "https://github.com/lepture/authlib/issues"},
          CLOCK, error_reply)


if __name__ == "__main__":
    main()
