#!/usr/bin/python3
"""JSON-lines adapter (ADAPTERS.md, protocol 2) for Authlib (Debian python3-authlib), used the way
its documentation for the requests integration shows: an OAuth2Session that knows the
token_endpoint, so it refreshes by itself when its token has expired, and an update_token hook
that saves every refreshed token. The password grant and the code exchange go through
fetch_token; their result is saved by the application (update_token is called for refreshes
only). The adapter adds nothing the library does not do: no refresh on a 401, no lock around
parallel refreshes, no dropping of a refresh token the server rejected.

With --fix (`--client authlib+fix`) it adds what COMPATIBILITY.md recommends, the code between
the 2ba-fix markers, as an application would: the session is made without token_endpoint and
TwoBASession refreshes instead."""

import secrets
import sys

try:
    import authlib
except ImportError:  # the kit reports the adapter as unavailable
    sys.stderr.write("authlib adapter: Authlib is missing (apt-get install python3-authlib)\n")
    sys.exit(127)
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import wrappers as _token_wrappers
from jsonl_common import (
    ClientClock,
    RedirectListener,
    TokenFile,
    api_url,
    common_error_reply,
    emit,
    serve,
)


# Authlib reads the clock in one module, authlib/oauth2/rfc6749/wrappers.py: OAuth2Token.from_dict
# turns expires_in into expires_at = time.time() + expires_in, and OAuth2Token.is_expired
# compares expires_at with time.time(). advance_time moves that module's clock.
CLOCK = ClientClock(_token_wrappers)
FIX = "--fix" in sys.argv[1:]


# 2ba-fix:begin
import threading
from urllib.parse import parse_qs, urlsplit

from authlib.integrations.base_client import OAuthError


class LoginRequired(Exception):
    """2BA refused the refresh token, or there is none: send the user to the login."""


def check_redirect(redirect_url):
    """A cancelled or refused login comes back with error= and no code: no token request."""
    params = parse_qs(urlsplit(redirect_url).query)
    if "error" in params:
        raise OAuthError(
            error=params["error"][0], description=params.get("error_description", [""])[0]
        )
    return redirect_url


def raise_unless_400(resp):
    """refresh_token_response hook: a 5xx or 429 says nothing about the refresh token."""
    if resp.status_code != 400:
        resp.raise_for_status()
    return resp


class TwoBASession:
    """Wraps an OAuth2Session made WITHOUT token_endpoint (so Authlib never refreshes on its own):
    one refresh at a time, a refresh and one retry after a 401, and a refresh token that 2BA
    refused (400) dropped."""

    def __init__(self, session, token_url, delete_saved_token):
        self.session, self.token_url, self.delete_saved_token = (
            session,
            token_url,
            delete_saved_token,
        )
        self.lock = threading.Lock()
        session.register_compliance_hook("refresh_token_response", raise_unless_400)

    def refresh(self, seen_access_token):
        with self.lock:
            token = self.session.token
            if not token or not token.get("refresh_token"):
                raise LoginRequired()
            if token["access_token"] != seen_access_token:
                return  # another thread refreshed meanwhile
            try:
                self.session.refresh_token(self.token_url)  # update_token saves the new token
            except (OAuthError, ValueError):  # 400 invalid_grant, or a bare 400 (no JSON)
                self.session.token = None
                self.delete_saved_token()
                raise LoginRequired()

    def get(self, url, **kwargs):
        token = self.session.token
        if not token:
            raise LoginRequired()
        if token.is_expired():
            self.refresh(token["access_token"])
        seen = self.session.token["access_token"]
        r = self.session.get(url, **kwargs)
        if r.status_code == 401:  # revoked early, or no expires_in: refresh once, retry once
            self.refresh(seen)
            r = self.session.get(url, **kwargs)
        return r


# 2ba-fix:end


class Adapter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.store = TokenFile(cfg)
        self.session = self._session(self.store.load())

    @property
    def session(self):
        return self._plain

    @session.setter
    def session(self, s):
        self._plain = s
        self.fixed = TwoBASession(s, self.cfg["token_url"], self.store.delete) if FIX else None

    def _session(self, token, **kw):
        if not FIX:  # the fix refreshes itself (TwoBASession)
            kw["token_endpoint"] = self.cfg["token_url"]
        s = OAuth2Session(
            self.cfg["client_id"],
            self.cfg.get("client_secret"),
            token_endpoint_auth_method=self._auth_method(),
            scope=self.cfg.get("scope"),
            token=token,
            update_token=self.update_token,
            default_timeout=20,
            **kw
        )
        s.verify = self.cfg.get("ca_file") or True
        s.trust_env = False  # requests lets REQUESTS_CA_BUNDLE override s.verify otherwise
        return s

    def _auth_method(self):
        if not self.cfg.get("client_secret"):
            return "none"
        return (
            "client_secret_basic"
            if self.cfg.get("client_auth") == "basic"
            else "client_secret_post"
        )

    def update_token(self, token, refresh_token=None, access_token=None):
        """The documented hook: called with the new token after every refresh."""
        self.store.save(token)

    def login_password(self, username, password):
        self.session = self._session(None)
        self.store.save(
            self.session.fetch_token(self.cfg["token_url"], username=username, password=password)
        )

    def refresh(self):
        if not self.session.token:
            raise LookupError("relogin_required")
        if self.fixed:
            self.fixed.refresh(self.session.token["access_token"])
        else:
            self.session.refresh_token(self.cfg["token_url"])

    def call(self, path):
        r = (self.fixed or self.session).get(api_url(self.cfg, path))
        r.raise_for_status()

    def login_code(self):
        listener = RedirectListener()
        s = self._session(None, redirect_uri=listener.redirect_uri, code_challenge_method="S256")
        verifier = secrets.token_urlsafe(48)
        url, state = s.create_authorization_url(self.cfg["authorize_url"], code_verifier=verifier)
        emit({"event": "authorize", "url": url})
        redirect_url = listener.wait()
        if FIX:
            redirect_url = check_redirect(redirect_url)
        token = s.fetch_token(
            self.cfg["token_url"],
            authorization_response=redirect_url,
            state=state,
            code_verifier=verifier,
        )
        self.session = s
        self.store.save(token)


def error_reply(e):
    """The error member of a reply for an exception of Authlib, requests or the adapter."""
    if isinstance(e, LoginRequired):
        return {"kind": "relogin_required", "message": "the refresh token is gone or refused"}
    if isinstance(e, AuthlibBaseError):
        kind = {
            "invalid_grant": "relogin_required",
            "missing_token": "relogin_required",
            "access_denied": "access_denied",
            "mismatching_state": "state_mismatch",
        }.get(e.error, "oauth")
        return {"kind": kind, "message": "%s: %s" % (type(e).__name__, e)}
    return common_error_reply(e)


def main():
    serve(
        Adapter,
        {
            "name": "authlib",
            "version": authlib.__version__,
            "language": "python",
            "homepage": "https://authlib.org/",
            "issues": "https://github.com/lepture/authlib/issues",
        },
        CLOCK,
        error_reply,
    )


if __name__ == "__main__":
    main()
