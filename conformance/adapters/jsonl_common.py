"""Shared by the bundled Python JSON-lines adapters (ADAPTERS.md): the command loop with its
version handshake and parallel calls, the application's token file, the error kinds of requests'
exceptions, the loopback listener of the code flow, and the client's clock for advance_time
(protocol 2)."""

import http.server
import json
import os
import sys
import threading
import time as _time

import requests


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(new_adapter, implementation, clock, error_reply):
    """The command loop. new_adapter(config) makes an object with cfg, login_password(username,
    password), login_code(), refresh() and call(path); error_reply(exception) gives the error
    member of a reply; clock is the ClientClock that advance_time moves."""
    adapter = None
    for line in sys.stdin:
        m = json.loads(line)
        cmd, seq = m.get("cmd"), m.get("seq")
        if cmd == "start":
            adapter = new_adapter(m["config"])
            # Protocol 2 when the kit offers it, else 1.
            emit(
                {
                    "ready": True,
                    "version": 2 if m.get("version", 1) >= 2 else 1,
                    "implementation": implementation,
                }
            )
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
                adapter = new_adapter(adapter.cfg)
            elif cmd == "call_api":
                _call_parallel(adapter.call, m["path"], int(m.get("concurrency", 1)))
            elif cmd == "advance_time":
                clock.advance(int(m["seconds"]))
            elif cmd != "info":
                emit({"seq": seq, "skipped": {"reason": "%s not supported" % cmd}})
                continue
            emit({"seq": seq, "ok": True})
        except Exception as e:
            emit({"seq": seq, "error": error_reply(e)})


def _call_parallel(call, path, n):
    """call(path) n times in parallel, as the application's threads would; the first failure
    is raised."""
    errors = []

    def one():
        try:
            call(path)
        except Exception as e:  # raised below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def api_url(cfg, path):
    """product_api_base + path when the kit gives that base (protocol 2), else api_base + path."""
    return (cfg.get("product_api_base") or cfg["api_base"]) + path


class TokenFile:
    """The application's persistent store: the token as JSON in the state folder."""

    def __init__(self, cfg):
        self.path = os.path.join(cfg["state_dir"], "token.json")

    def load(self):
        if not os.path.exists(self.path):
            return None
        with open(self.path) as f:
            return json.load(f)

    def save(self, token):
        with open(self.path, "w") as f:
            json.dump(dict(token), f)

    def delete(self):
        """Forgets the token (a refresh token the server refused)."""
        if os.path.exists(self.path):
            os.remove(self.path)


def common_error_reply(e):
    """The error member of a reply for an adapter's LookupError(kind) or an exception of
    requests; errors of the library itself are the adapter's to map."""
    if isinstance(e, LookupError):
        return {"kind": str(e)}
    if isinstance(e, requests.exceptions.SSLError):
        return {"kind": "transport", "message": "TLS: %s" % e}
    if isinstance(e, (requests.ConnectionError, requests.Timeout)):
        return {"kind": "transport", "message": str(e)}
    if isinstance(e, requests.HTTPError):
        return {"kind": "server" if e.response.status_code >= 500 else "oauth", "message": str(e)}
    if isinstance(e, ValueError):  # a reply that is not JSON (requests' JSONDecodeError)
        return {"kind": "parse", "message": "%s: %s" % (type(e).__name__, e)}
    return {"kind": "other", "message": "%s: %s" % (type(e).__name__, e)}


class RedirectListener:
    """The client's loopback redirect_uri for the code flow: wait() returns the URL the browser
    was redirected to, or raises LookupError("timeout")."""

    def __init__(self):
        got, done = {}, threading.Event()
        self._got, self._done = got, done

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                got["url"] = "http://127.0.0.1:%d%s" % (h.server.server_address[1], h.path)
                h.send_response(200)
                h.end_headers()
                done.set()

            def log_message(h, *a):
                pass

        self._srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.redirect_uri = "http://127.0.0.1:%d/callback" % self._srv.server_address[1]

    def wait(self, timeout=60):
        try:
            if not self._done.wait(timeout):
                raise LookupError("timeout")
            return self._got["url"]
        finally:
            self._srv.shutdown()
            self._srv.server_close()


class ClientClock:
    """The `time` module as a library sees it, some seconds ahead of the real one. It stands in
    for `time` inside the library modules that decide expiry, so that what the library stores
    (expires_at) and how it judges it move together, as if the time had really passed.
    Everything but time() is the real module."""

    def __init__(self, *modules):
        self.offset = 0
        for module in modules:
            module.time = self

    def advance(self, seconds):
        self.offset += seconds

    def time(self):
        return _time.time() + self.offset

    def __getattr__(self, name):
        return getattr(_time, name)
