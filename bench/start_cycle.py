#!/usr/bin/env python3
"""What a fresh mock per test costs: start -> READY -> first token -> SIGTERM -> exited.

  bench/start_cycle.py --binary build/release/mock_server/mock_server [--binary OTHER] [--runs 50]
  bench/start_cycle.py --image twoba-mock [--image OTHER] [--image-runs 5] [--network none]
  (more mock_server arguments: --arg=--https, repeated)

Cycle: spawns `mock_server --port 0 --quiet`, reads its READY line, sends one password grant on a
fresh connection, sends SIGTERM and waits for the exit; prints median and p90 of each phase, of
the whole cycle, and of the mock's own CPU time and page faults. Several binaries are run interleaved (A, B, A, B, ...), so a neighbour's load
weighs on each alike. Image: `podman run --rm IMAGE` with the image's own entry point, attached:
from the spawn of `podman run` to the READY line on its stdout, then `podman stop` -> exited.
A benchmark, not a test: it reports, it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

kReady = re.compile(rb"^READY (https?)://([^:/\s]+|\[[^\]]+\]):(\d+)")
kGrant = b"grant_type=password&username=demo&password=demo&client_id=demo-client&client_secret=demo-secret"
# Wall-clock phases in ms, then what the mock itself used (from wait4's rusage): CPU ms (user +
# system, all threads) and page faults. On a loaded machine wall-clock figures mostly measure the
# neighbours; the mock's CPU time and page faults hardly move with them.
kPhases = ("ready", "token", "stop", "cycle", "cpu", "faults")
kUnits = {"faults": "count"}


@dataclass
class Samples:
    label: str
    phases: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in kPhases})


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(ns: int) -> float:
    return ns / 1e6


def password_grant(host: str, port: int, tls: ssl.SSLContext | None = None) -> bytes:
    """One password grant on a new connection (Connection: close); returns the status line."""
    request = (
        b"POST /OAuth/Token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(kGrant)).encode() + b"\r\n\r\n" + kGrant
    )
    with socket.create_connection((host, port)) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


def one_cycle(binary: str, extra: list[str], samples: Samples) -> None:
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(
        [binary, "--port", "0", "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    line = proc.stdout.readline()
    t_ready = time.perf_counter_ns()
    m = kReady.match(line)
    if not m:
        proc.kill()
        proc.wait()
        sys.exit(f"start_cycle: {binary}: no READY line: {line!r}")
    tls = None
    if m.group(1) == b"https":  # --https: the CA-FILE line follows READY
        ca_file = proc.stdout.readline().decode().removeprefix("CA-FILE ").strip()
        tls = ssl.create_default_context(cafile=ca_file)
    status = password_grant("127.0.0.1", int(m.group(3)), tls)
    t_token = time.perf_counter_ns()
    if b" 200 " not in status:
        proc.kill()
        sys.exit(f"start_cycle: {binary}: password grant answered {status!r}")
    proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    t_end = time.perf_counter_ns()
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        sys.exit(f"start_cycle: {binary}: exit status {proc.returncode} after SIGTERM")
    for phase, value in zip(
        kPhases, (t_ready - t0, t_token - t_ready, t_end - t_token, t_end - t0)
    ):
        samples.phases[phase].append(ms(value))
    samples.phases["cpu"].append((usage.ru_utime + usage.ru_stime) * 1000)
    samples.phases["faults"].append(usage.ru_minflt + usage.ru_majflt)


def one_image_start(
    podman: list[str], run_options: list[str], image: str, extra: list[str], samples: Samples
) -> None:
    name = f"twoba-bench-{os.getpid()}"
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(
        [*podman, "run", "--rm", "--name", name, *run_options, image, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    line = proc.stdout.readline()
    t_ready = time.perf_counter_ns()
    if not line.startswith(b"READY "):
        subprocess.run([*podman, "rm", "-f", name], capture_output=True)
        sys.exit(f"start_cycle: {image}: no READY line: {line!r}")
    t1 = time.perf_counter_ns()
    subprocess.run([*podman, "stop", "-t", "10", name], capture_output=True, check=True)
    proc.wait()
    t_end = time.perf_counter_ns()
    samples.phases["ready"].append(ms(t_ready - t0))
    samples.phases["stop"].append(ms(t_end - t1))
    samples.phases["cycle"].append(ms(t_end - t0))


def one_noop_run(podman: list[str], run_options: list[str], image: str, samples: Samples) -> None:
    """podman run of the same image with /bin/true as the entry point: podman's own share."""
    t0 = time.perf_counter_ns()
    subprocess.run(
        [*podman, "run", "--rm", *run_options, "--entrypoint", "/bin/true", image],
        check=True,
        capture_output=True,
    )
    samples.phases["cycle"].append(ms(time.perf_counter_ns() - t0))


def report(all_samples: list[Samples], title: str) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| what | phase | unit | runs | median | p90 | min | max |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in all_samples:
        for phase in kPhases:
            xs = s.phases[phase]
            if xs:
                lines.append(
                    f"| {s.label} | {phase} | {kUnits.get(phase, 'ms')} | {len(xs)} | "
                    f"{statistics.median(xs):.1f} | "
                    f"{percentile(xs, 90):.1f} | {min(xs):.1f} | {max(xs):.1f} |"
                )
    return lines + [""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", action="append", default=[], help="mock_server to cycle (repeat)")
    ap.add_argument("--runs", type=int, default=50, help="cycles per binary (default 50)")
    ap.add_argument(
        "--arg",
        action="append",
        default=[],
        help="extra mock_server argument for cycles and image starts (repeat; " "--arg=--https)",
    )
    ap.add_argument("--image", action="append", default=[], help="container image (repeat)")
    ap.add_argument("--image-runs", type=int, default=5, help="starts per image (default 5)")
    ap.add_argument(
        "--podman-runtime",
        default="runc" if shutil.which("runc") else None,
        help="podman --runtime (default: runc when installed, as the tests use)",
    )
    ap.add_argument(
        "--network",
        default="publish",
        choices=("publish", "none"),
        help="publish: -p 127.0.0.1::8080 as a test suite runs it (default); none: "
        "--network none, what the container costs without podman's network set-up",
    )
    ap.add_argument("--json", help="also write the samples to this file")
    opts = ap.parse_args()
    if not opts.binary and not opts.image:
        ap.error("give --binary and/or --image")

    out: list[str] = [f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", ""]
    results = {}
    if opts.binary:
        cycles = [Samples(b) for b in opts.binary]
        for _ in range(2):  # warm the page cache
            for s in cycles:
                one_cycle(s.label, opts.arg, Samples(s.label))
        for _ in range(opts.runs):
            for s in cycles:
                one_cycle(s.label, opts.arg, s)
        out += report(cycles, "start -> READY -> first token -> SIGTERM -> exited")
        results["cycle"] = {s.label: s.phases for s in cycles}
    if opts.image:
        podman = ["podman"] + (["--runtime", opts.podman_runtime] if opts.podman_runtime else [])
        # The hard descriptor limit, as tests/install/container_test.sh passes it (runc refuses to
        # raise a limit past the caller's).
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        run_options = ["--ulimit", f"nofile={hard}:{hard}", "--ulimit", "nproc=32768:32768"]
        run_options += (
            ["-p", "127.0.0.1::8080"] if opts.network == "publish" else ["--network", "none"]
        )
        starts = [Samples(i) for i in opts.image]
        noops = [Samples(i + " with --entrypoint /bin/true") for i in opts.image]
        for _ in range(opts.image_runs):
            for s, noop in zip(starts, noops):
                one_image_start(podman, run_options, s.label, opts.arg, s)
                one_noop_run(podman, run_options, s.label, noop)
        out += report(starts, "podman run -> READY; podman stop -> exited")
        out += report(noops, "podman run -> exited of /bin/true: podman's own share (cycle = run)")
        results["image"] = {s.label: s.phases for s in starts + noops}
    out.append(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(out))
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
