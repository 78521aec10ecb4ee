#!/usr/bin/env python3
"""Memory the journal holds: RSS of a mock after N requests with 1 MiB bodies to an unknown
path, and its peak while the journal is read back.

Usage: bench/hardening/journal_rss.py MOCK_BINARY [N=1500]
"""
import http.client
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    mock = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [
                mock,
                "--port",
                "0",
                "--quiet",
                "--fixture",
                os.path.join(ROOT, "fixtures/default.json"),
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            url = proc.stdout.readline().split()[1]
            host, port = url.split("//")[1].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            body = b"x" * (1 << 20)
            for _ in range(count):
                conn.request("POST", "/no/such/endpoint", body, {"Content-Type": "text/plain"})
                conn.getresponse().read()
            after_posts = status_kib(proc.pid, "VmRSS")
            peak_posts = status_kib(proc.pid, "VmHWM")
            print("requests: %d x 1 MiB to an unknown path" % count)
            print(
                "RSS after the requests: %.1f MB (peak so far %.1f MB)"
                % (after_posts / 1024, peak_posts / 1024),
                flush=True,
            )
            conn.sock.settimeout(900)  # an unbounded journal takes minutes to render
            conn.request("GET", "/__mock/requests")
            journal = conn.getresponse().read()
            peak_read = status_kib(proc.pid, "VmHWM")
            print(
                "journal read back: %.1f MB of JSON; peak RSS while reading %.1f MB"
                % (len(journal) / 1e6, peak_read / 1024)
            )
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
