#!/usr/bin/env python3
"""Measures the mock's transport bounds under hostile load (figures, not pass/fail):

  delay-flood   threads and RSS while 400 scenario requests wait on a delay fault at once
  slowloris     a fresh client's latency while 1,100 connections trickle request heads, with
                the mock started under a soft descriptor limit of 1,024 (and, --hard-limit, a hard
                one too)
  sigterm       how long SIGTERM takes to stop the mock while a 600 s fault delay is in flight

Usage: bench/transport_limits.py MOCK_SERVER_BINARY [--fixture-dir DIR] [--only NAME] [--tls]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISCOVERY = "/.well-known/openid-configuration"


@dataclass
class Mock:
    process: subprocess.Popen
    port: int
    tls: bool

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname="localhost")
        return sock

    def status(self) -> dict[str, int]:
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("Threads", "VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def start_mock(
    binary: str, fixture: str, tls_files: tuple[str, str] | None, ulimit: str = ""
) -> Mock:
    args = [binary, "--port", "0", "--quiet", "--fixture", fixture]
    if tls_files:
        args += ["--tls-cert", tls_files[0], "--tls-key", tls_files[1]]
    command = " ".join(f"'{a}'" for a in args)
    shell = f"{ulimit}; exec {command}" if ulimit else f"exec {command}"
    process = subprocess.Popen(["bash", "-c", shell], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        raise RuntimeError(f"mock did not start: {line!r}")
    return Mock(process, int(line.rsplit(":", 1)[1]), tls_files is not None)


def request(
    mock: Mock,
    method: str,
    path: str,
    body: str = "",
    timeout: float = 10.0,
    content_type: str = "application/json",
) -> tuple[int, str]:
    with mock.connect(timeout) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if body:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body.encode())}\r\n"
        sock.sendall((head + "\r\n" + body).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    text = data.decode(errors="replace")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else 0
    return status, text.partition("\r\n\r\n")[2]


def delay_flood(binary: str, fixture_dir: Path, tls_files, clients: int = 400) -> dict:
    mock = start_mock(binary, str(fixture_dir / "default.json"), tls_files)
    try:
        scenario = "/s/no-rotation"
        status, body = request(
            mock,
            "POST",
            scenario + "/__mock/faults",
            json.dumps({"path": DISCOVERY, "delay_ms": 3000, "times": 0}),
        )
        assert status == 200, body
        before = mock.status()
        results: list[int] = []
        lock = threading.Lock()

        # All connect first, then all send at once: 400 requests wait on the delay together.
        barrier = threading.Barrier(clients)

        def one() -> None:
            code = 0
            try:
                with mock.connect(timeout=60) as sock:
                    barrier.wait(timeout=60)
                    sock.sendall(
                        f"GET {scenario}{DISCOVERY} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Connection: close\r\n\r\n".encode()
                    )
                    data = b""
                    while chunk := sock.recv(65536):
                        data += chunk
                    code = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
            except (OSError, ssl.SSLError, threading.BrokenBarrierError):
                pass
            with lock:
                results.append(code)

        threads = [threading.Thread(target=one) for _ in range(clients)]
        for t in threads:
            t.start()
        peak_threads = peak_rss = 0
        while any(t.is_alive() for t in threads):
            s = mock.status()
            peak_threads = max(peak_threads, s["Threads"])
            peak_rss = max(peak_rss, s["VmRSS"])
            time.sleep(0.05)
        after = mock.status()
        time.sleep(11)  # idle blocking threads exit after 10 s
        idle = mock.status()
        return {
            "clients": clients,
            "replies": {str(code): results.count(code) for code in sorted(set(results))},
            "threads_before": before["Threads"],
            "threads_peak": peak_threads,
            "threads_after": after["Threads"],
            "threads_after_11s_idle": idle["Threads"],
            "rss_kib_before": before["VmRSS"],
            "rss_kib_peak": peak_rss,
            "rss_kib_after_11s_idle": idle["VmRSS"],
        }
    finally:
        mock.stop()


def slowloris(
    binary: str,
    fixture_dir: Path,
    tls_files,
    ulimit: str,
    attackers: int = 1100,
    seconds: float = 20.0,
) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this script holds 1,100 sockets
    mock = start_mock(binary, str(fixture_dir / "default.json"), tls_files, ulimit)
    stop = threading.Event()
    opened = [0]
    attack_socks: list[socket.socket | None] = [None] * attackers

    def attack() -> None:
        # Every socket sends a request line, then one header byte per second, and is reopened
        # when the mock closes it: the attack keeps 1,100 connections trickling throughout.
        while not stop.is_set():
            for i in range(attackers):
                if stop.is_set():
                    break
                sock = attack_socks[i]
                try:
                    if sock is None:
                        sock = mock.connect(timeout=2)
                        sock.setblocking(False)
                        sock.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                        attack_socks[i] = sock
                        opened[0] += 1
                    else:
                        sock.send(b"a")
                except (OSError, ssl.SSLError):
                    if sock is not None:
                        sock.close()
                    attack_socks[i] = None
            stop.wait(1.0)

    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(8)  # let the attack fill the descriptors
    latencies: list[float] = []
    failures = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            code, _ = request(mock, "GET", DISCOVERY, timeout=10)
            if code == 200:
                latencies.append(time.monotonic() - started)
            else:
                failures += 1
        except (OSError, ssl.SSLError):
            failures += 1
        time.sleep(0.5)
    held = sum(1 for s in attack_socks if s is not None)
    stop.set()
    attacker.join()
    for s in attack_socks:
        if s is not None:
            s.close()
    mock_fds = len(os.listdir(f"/proc/{mock.process.pid}/fd"))
    limits = Path(f"/proc/{mock.process.pid}/limits").read_text()
    nofile = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    mock.stop()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    latencies.sort()
    ms = [round(x * 1000, 1) for x in latencies]
    return {
        "ulimit": ulimit,
        "mock_limit": " ".join(nofile.split()[3:5]),
        "attack_connections_opened": opened[0],
        "attack_connections_open_at_end": held,
        "mock_fds_after_attack": mock_fds,
        "victim_requests": len(latencies) + failures,
        "victim_failures": failures,
        "victim_ms_median": statistics.median(ms) if ms else None,
        "victim_ms_p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else None,
        "victim_ms_max": ms[-1] if ms else None,
    }


def sigterm(binary: str, fixture_dir: Path, tls_files) -> dict:
    mock = start_mock(binary, str(fixture_dir / "default.json"), tls_files)
    status, body = request(
        mock,
        "POST",
        "/__mock/faults",
        json.dumps({"path": DISCOVERY, "delay_ms": 600000, "times": 0}),
    )
    assert status == 200, body
    waiting = [mock.connect(timeout=700) for _ in range(4)]
    for sock in waiting:
        sock.sendall(f"GET {DISCOVERY} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    time.sleep(0.5)
    started = time.monotonic()
    mock.process.send_signal(signal.SIGTERM)
    code = mock.process.wait(timeout=700)
    elapsed = time.monotonic() - started
    for sock in waiting:
        sock.close()
    return {
        "requests_waiting": len(waiting),
        "exit_status": code,
        "sigterm_to_exit_ms": round(elapsed * 1000, 1),
    }


def make_certificate(folder: str) -> tuple[str, str]:
    cert, key = f"{folder}/cert.pem", f"{folder}/key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--fixture-dir", default=str(ROOT / "fixtures"))
    parser.add_argument("--only", choices=["delay-flood", "slowloris", "sigterm"])
    parser.add_argument("--tls", action="store_true", help="measure over TLS")
    parser.add_argument(
        "--hard-limit",
        action="store_true",
        help="slowloris: also start the mock with a hard limit of 1,024",
    )
    args = parser.parse_args()
    fixtures = Path(args.fixture_dir)
    with tempfile.TemporaryDirectory() as folder:
        tls_files = make_certificate(folder) if args.tls else None
        if args.only in (None, "sigterm"):
            print(json.dumps({"sigterm": sigterm(args.binary, fixtures, tls_files)}), flush=True)
        if args.only in (None, "delay-flood"):
            print(
                json.dumps({"delay_flood": delay_flood(args.binary, fixtures, tls_files)}),
                flush=True,
            )
        if args.only in (None, "slowloris"):
            print(
                json.dumps(
                    {"slowloris": slowloris(args.binary, fixtures, tls_files, "ulimit -Sn 1024")}
                ),
                flush=True,
            )
            if args.hard_limit:
                print(
                    json.dumps(
                        {"slowloris": slowloris(args.binary, fixtures, tls_files, "ulimit -n 1024")}
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
