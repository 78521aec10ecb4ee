"""The kit plays the user's browser in the authorization-code flow: it opens the authorize URL
the client produced, fills in the login form, and delivers the redirect to the client."""

import html.parser
import threading
import urllib.parse

import requests


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": (a.get("method") or "get").lower(),
                "inputs": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag == "input":
            t = (a.get("type") or "text").lower()
            if t == "submit":
                self._form["buttons"].append(
                    {"name": a.get("name"), "value": a.get("value", ""), "text": a.get("value", "")}
                )
            else:
                self._form["inputs"].append(
                    {"name": a.get("name"), "value": a.get("value", ""), "type": t}
                )
        elif self._form is not None and tag == "button":
            self._button = {"name": a.get("name"), "value": a.get("value", ""), "text": ""}
            if (a.get("type") or "submit").lower() == "submit":
                self._form["buttons"].append(self._button)

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag):
        if tag == "button":
            self._button = None
        elif tag == "form":
            self._form = None


def with_query(url, params, drop=()):
    """Location with parameters replaced (None removes one)."""
    parts = urllib.parse.urlsplit(url)
    q = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if k not in params and k not in drop
    ]
    q += [(k, v) for k, v in params.items() if v is not None]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))


class Browser:
    """Handles `authorize` events. behaviour: login | cancel | wrong_state | missing_state |
    reject_pkce. Records every authorize URL and what it delivered."""

    def __init__(self, scenario, username, password, behaviour="login", expect_nothing=None):
        self.scenario = scenario
        self.username = username
        self.password = password
        self.behaviour = behaviour
        self.expect_nothing = expect_nothing  # seconds to wait for the client after a bad redirect
        self.authorize_urls = []
        self.log = []  # human-readable steps
        self.delivered = []
        self.login_page = None  # True/False once known
        self.minted_codes = []
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = scenario.http.verify
        self._threads = []

    # Called from the adapter reader loop; returns an optional new deadline.
    def on_event(self, event):
        if event.get("event") != "authorize":
            return None
        url = event.get("url", "")
        self.authorize_urls.append(url)
        try:
            location = self._authorize(url)
        except Exception as e:  # the client may still be waiting: report and let it time out
            self.log.append("browser error: %s" % e)
            return None
        if location:
            self._deliver(location)
        if self.behaviour != "login" and self.expect_nothing is not None:
            import time

            return time.monotonic() + self.expect_nothing + 5.0
        return None

    def _authorize(self, url):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))
        redirect_uri = q.get("redirect_uri")
        state = q.get("state")
        if not redirect_uri:
            self.log.append("authorize URL has no redirect_uri: nothing to deliver")
            return None
        if self.behaviour == "reject_pkce":
            self.log.append(
                "answering as the server: error=invalid_request (code_challenge_method)"
            )
            return with_query(
                redirect_uri,
                {
                    "error": "invalid_request",
                    "error_description": "code_challenge_method not supported",
                    "state": state,
                },
            )
        if self.behaviour == "cancel":
            loc = self._login_page(url, cancel=True)
            if loc is None:
                loc = with_query(redirect_uri, {"error": "access_denied", "state": state})
                self.log.append(
                    "no login page: delivering error=access_denied as the user's cancel"
                )
            return loc
        loc = self._login_page(url, cancel=False)
        if loc is None:
            body = {
                "client_id": q.get("client_id"),
                "username": self.username,
                "redirect_uri": redirect_uri,
            }
            if q.get("scope"):
                body["scope"] = q["scope"]
            if q.get("code_challenge"):
                body["code_challenge"] = q["code_challenge"]
                body["code_challenge_method"] = q.get("code_challenge_method", "plain")
            code = self.scenario.issue_code(**body)["code"]
            self.minted_codes.append(code)
            self.log.append("no login page: code issued through the control API")
            loc = with_query(redirect_uri, {"code": code, "state": state})
        if self.behaviour == "wrong_state":
            loc = with_query(loc, {"state": "forged-" + (state or "x")[::-1]})
            self.log.append("replaced state in the redirect")
        elif self.behaviour == "missing_state":
            loc = with_query(loc, {}, drop=("state",))
            self.log.append("removed state from the redirect")
        return loc

    def _login_page(self, url, cancel):
        """Opens the login page and submits it; None when the server has no login page."""
        r = self.http.get(url, allow_redirects=False, timeout=10)
        if r.status_code == 404:
            self.login_page = False
            return None
        self.login_page = True
        if r.status_code in (302, 303) and "Location" in r.headers:
            self.log.append("authorize redirected at once (%d)" % r.status_code)
            return r.headers["Location"]
        p = _FormParser()
        p.feed(r.text)
        if not p.forms:
            raise RuntimeError("login page (%d) has no form" % r.status_code)
        form = p.forms[0]
        fields = {}
        for i in form["inputs"]:
            if not i["name"]:
                continue
            if i["name"].lower() == "username":
                fields[i["name"]] = self.username
            elif i["name"].lower() == "password":
                fields[i["name"]] = self.password
            else:
                fields[i["name"]] = i["value"]
        want = "cancel" if cancel else "log in"
        button = next(
            (b for b in form["buttons"] if want in (b["text"] or b["value"]).strip().lower()), None
        )
        if button is None and cancel:
            return None
        if button and button["name"]:
            fields[button["name"]] = button["value"]
        action = urllib.parse.urljoin(r.url, form["action"] or r.url)
        resp = self.http.post(action, data=fields, allow_redirects=False, timeout=10)
        self.log.append(
            "submitted login form (%s) -> %d" % ("Cancel" if cancel else "Log in", resp.status_code)
        )
        if resp.status_code not in (301, 302, 303) or "Location" not in resp.headers:
            raise RuntimeError("login form answered %d without a redirect" % resp.status_code)
        return resp.headers["Location"]

    def _deliver(self, location):
        self.delivered.append(location)

        def go():
            try:
                r = self.http.get(location, allow_redirects=False, timeout=15)
                self.log.append("delivered redirect to the client -> %d" % r.status_code)
            except requests.RequestException as e:
                self.log.append("delivering the redirect failed: %s" % type(e).__name__)

        t = threading.Thread(target=go, daemon=True)
        t.start()
        self._threads.append(t)

    def join(self, timeout=2.0):
        for t in self._threads:
            t.join(timeout)
