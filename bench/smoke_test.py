"""Smoke run of the benchmark: `bench/run --quick` must work end to end and write a well-formed
table. Benchmarks are not tests, so nothing here looks at how fast anything was; it checks the
shape of the report and that every load request succeeded (a broken refresh chain, a rejected
Bearer token or a failed clock advance shows up as an error count)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

kBench = Path(__file__).resolve().parent
kNumber = re.compile(r"^\d[\d,]*(\.\d+)?")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("bench")
    md, raw = out_dir / "bench.md", out_dir / "bench.json"
    build_dir = os.environ.get("BENCH_BUILD_DIR", str(kBench.parent / "build" / "dev"))
    proc = subprocess.run(
        [
            sys.executable,
            str(kBench / "run"),
            "--quick",
            "--build-dir",
            build_dir,
            "--out",
            str(md),
            "--json",
            str(raw),
        ],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stderr
    return md.read_text(), json.loads(raw.read_text())


def tables(text):
    """Every Markdown table as (header cells, rows of cells), checking the separator row."""
    found, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = cells(lines[i])
            separator = cells(lines[i + 1])
            assert len(separator) == len(header), lines[i + 1]
            assert all(re.fullmatch(r"-+:?", s) for s in separator), lines[i + 1]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                assert len(row) == len(
                    header
                ), f"{len(row)} cells, {len(header)} headers: {lines[i]}"
                rows.append(row)
                i += 1
            found.append((header, rows))
        else:
            i += 1
    return found


def cells(line):
    assert line.startswith("|") and line.endswith("|"), line
    return [c.strip() for c in line[1:-1].split("|")]


def number(cell):
    m = kNumber.match(cell)
    assert m, f"not a number: {cell!r}"
    return float(m.group(0).replace(",", ""))


def test_names_the_machine(report):
    text, _ = report
    machine = [l for l in text.splitlines() if l.startswith("Machine: ")]
    assert len(machine) == 1
    assert re.search(r"\d+ cores, .* Linux \S+", machine[0]), machine[0]


def test_has_the_three_tables(report):
    text, _ = report
    headers = [h[0] for h, _ in tables(text)]
    assert headers == ["metric", "workload", "target"]


def test_startup_and_memory_rows_carry_figures(report):
    text, _ = report
    header, rows = tables(text)[0]
    ours, ceiling = header.index("mock_server"), header.index("ceiling")
    by_metric = {r[0]: r for r in rows}
    for metric in (
        "spawn → ready line, ms",
        "spawn → first 200 from the token endpoint, ms",
        "idle RSS, MB",
        "peak RSS over the load cells, MB",
    ):
        assert number(by_metric[metric][ours]) > 0, metric
        assert number(by_metric[metric][ceiling]) > 0, metric
    churn = [r for r in rows if r[0].startswith("RSS after ")]
    assert len(churn) == 1 and number(churn[0][ours]) > 0


def test_every_workload_measured_without_errors(report):
    text, _ = report
    header, rows = tables(text)[1]
    col = {
        name: header.index(name)
        for name in (
            "ours req/s",
            "ours p50 ms",
            "ours p99 ms",
            "ceiling req/s",
            "layer req/s",
            "errors (ours)",
        )
    }
    assert sorted({r[0] for r in rows}) == sorted(
        ["password grant", "refresh grant (rotating)", "product API (Bearer)"]
    )
    for row in rows:
        assert number(row[col["ours req/s"]]) > 0, row
        assert number(row[col["ceiling req/s"]]) > 0, row
        assert number(row[col["layer req/s"]]) > 0, row
        assert number(row[col["ours p99 ms"]]) >= number(row[col["ours p50 ms"]]), row
        assert row[col["errors (ours)"]] == "0", row


def test_refresh_run_rotated_its_chains(report):
    _, raw = report
    runs = [
        r
        for cell in raw["cells"]
        if cell["server"] == "ours" and cell["workload"] == "refresh"
        for r in cell["runs"]
    ]
    assert runs
    for r in runs:
        # One password grant seeds each connection's chain; every later request is a refresh.
        assert r["seeds"] <= 64, r
        assert r["issued"] >= r["requests"] - r["error_count"] > r["seeds"], r


def test_churn_advanced_the_clock_without_errors(report):
    _, raw = report
    churn = raw["churn"]
    assert churn["error_count"] == 0, churn["errors"]
    assert churn["clock_advances"] >= 1
    assert churn["issued"] >= 10_000


def test_targets_have_a_verdict(report):
    text, _ = report
    _, rows = tables(text)[2]
    assert len(rows) == 7
    assert all(r[2] in ("yes", "**no**", "—") for r in rows), rows
