#!/usr/bin/python3
"""Example JSON-lines adapter (ADAPTERS.md): a small 2BA client built on requests."""
import json, os, sys, threading
import requests


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Client:
    def __init__(self, cfg):
        self.cfg, self.lock, self.http = cfg, threading.Lock(), requests.Session()
        self.http.verify = cfg.get("ca_file") or True
        self.path = os.path.join(cfg["state_dir"], "tokens.json")
        self.tokens = json.load(open(self.path)) if os.path.exists(self.path) else None

    def grant(self, **form):  # POST /OAuth/Token, credentials in the body
        form.update(client_id=self.cfg["client_id"], client_secret=self.cfg["client_secret"])
        r = self.http.post(self.cfg["token_url"], data=form, timeout=20)
        if r.status_code == 400 and form["grant_type"] == "refresh_token":
            self.tokens = None
            os.path.exists(self.path) and os.remove(self.path)
            raise LookupError("relogin_required")
        r.raise_for_status()
        new = r.json()  # keep the old refresh token if none came back
        new.setdefault("refresh_token", (self.tokens or {}).get("refresh_token"))
        self.tokens = new
        json.dump(new, open(self.path, "w"))

    def refresh(self, seen=None):
        with self.lock:  # one refresh at a time, never a stale one twice
            if not self.tokens:
                raise LookupError("relogin_required")
            if seen is None or self.tokens["access_token"] == seen:
                self.grant(grant_type="refresh_token", refresh_token=self.tokens["refresh_token"])

    def call(self, path):
        if not self.tokens:
            raise LookupError("relogin_required")
        for attempt in (1, 2):
            at = self.tokens["access_token"]
            r = self.http.get(
                self.cfg["product_api_base"] + path,
                headers={"Authorization": "Bearer " + at},
                timeout=20,
            )
            if r.status_code != 401 or attempt == 2:
                return r.raise_for_status()
            self.refresh(seen=at)


client = None
for line in sys.stdin:
    m = json.loads(line)
    cmd, seq = m["cmd"], m.get("seq")
    try:
        if cmd == "start":
            client = Client(m["config"])
            reply(
                {"ready": True, "version": 2, "implementation": {"name": "example", "version": "1"}}
            )
            continue
        if cmd == "stop":
            break
        if cmd == "login_password":
            client.grant(grant_type="password", username=m["username"], password=m["password"])
        elif cmd == "refresh":
            client.refresh()
        elif cmd == "restart":
            client = Client(client.cfg)
        elif cmd == "advance_time":
            pass  # no clock of its own: it refreshes on a 401
        elif cmd == "call_api":  # parallel calls; the first failure is the reply
            errors = []

            def one():
                try:
                    client.call(m["path"])
                except Exception as e:
                    errors.append(e)

            ts = [threading.Thread(target=one) for _ in range(m.get("concurrency", 1))]
            [t.start() for t in ts]
            [t.join() for t in ts]
            if errors:
                raise errors[0]
        else:
            reply({"seq": seq, "skipped": {"reason": cmd + " not supported by this adapter"}})
            continue
        reply({"seq": seq, "ok": True})
    except LookupError as e:
        reply({"seq": seq, "error": {"kind": str(e)}})
    except requests.ConnectionError as e:
        reply({"seq": seq, "error": {"kind": "transport", "message": str(e)}})
    except Exception as e:
        reply({"seq": seq, "error": {"kind": "other", "message": str(e)}})
