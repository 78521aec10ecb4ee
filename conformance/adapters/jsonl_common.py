"""Shared by the bundled Python JSON-lines adapters (ADAPTERS.md): replies, the version
handshake, parallel calls, and the client's clock for advance_time (protocol 2)."""

import json
import sys
import threading
import time as _time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def ready(start_msg, implementation):
    """The reply to `start`: protocol 2 when the kit offers it, else 1."""
    emit({"ready": True, "version": 2 if start_msg.get("version", 1) >= 2 else 1,
          "implementation": implementation})


def call_parallel(call, path, n):
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
