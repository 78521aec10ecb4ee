"""conformance/compatibility: the pages follow the check catalog and the known-deviations files,
and incomplete data is refused."""

import copy
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_loader = importlib.machinery.SourceFileLoader(
    "kit_compatibility", os.path.join(KIT, "compatibility")
)
compat = importlib.util.module_from_spec(importlib.util.spec_from_loader(_loader.name, _loader))
sys.modules[_loader.name] = compat  # dataclasses look their module up there
_loader.exec_module(compat)


def data():
    return compat.load_clients(), compat.load_checks()


def test_the_data_is_complete_and_counts_cover_every_check():
    clients, checks = data()
    assert compat.problems(clients, checks) == []
    for cl in clients:
        for p in compat.PROFILES:
            assert sum(compat.counts(cl, checks, p).values()) == sum(
                c.in_profile(p) for c in checks.values()
            )


def test_a_changed_deviation_or_catalog_changes_the_pages():
    clients, checks = data()
    before = compat.render(clients, checks)
    changed = copy.deepcopy(clients)
    lib = next(cl for cl in changed if cl.doc["deviations"])
    lib.doc["deviations"][0]["result"] = (
        "PASS" if lib.doc["deviations"][0]["result"] != "PASS" else "FAIL"
    )
    assert compat.render(changed, checks)[compat.MARKDOWN] != before[compat.MARKDOWN]
    fewer = dict(checks)
    fewer.pop(next(iter(fewer)))
    after = compat.render(clients, fewer)
    assert (
        after[compat.MARKDOWN] != before[compat.MARKDOWN]
        and after[compat.HTML_PAGE] != before[compat.HTML_PAGE]
    )


def test_missing_explanations_and_unknown_checks_are_refused():
    clients, checks = data()
    clients = copy.deepcopy(clients)
    lib = next(cl for cl in clients if cl.doc["deviations"])
    cid = lib.doc["deviations"][0]["check"]
    del lib.doc["explanations"][cid]["fix"]
    lib.doc["deviations"].append({"check": "no/such-check", "result": "FAIL", "profile": "2ba"})
    found = compat.problems(clients, checks)
    assert "%s: %s: 'fix' missing" % (lib.name, cid) in found
    assert "%s: no/such-check is not a check of the catalog" % lib.name in found


def safe_as_is(client) -> bool:
    """The verdict's answer to "safe with 2BA as-is?": Yes…, or No… / Almost…"""
    return client.doc["verdict"].startswith("Yes")


def test_every_client_that_is_not_safe_has_a_proven_fix():
    clients, checks = data()
    for cl in clients:
        if safe_as_is(cl):
            continue
        assert cl.fix is not None, "%s is not safe as-is but has no %s+fix" % (cl.name, cl.name)
        # The plain library keeps the FAILs the page warns about; the fix removes every one.
        assert cl.fails("2ba"), "%s: not safe as-is, yet no FAIL in the 2ba profile" % cl.name
        assert cl.fix.fails("2ba") == [], "%s FAILs in 2ba: %s" % (cl.fix.name, cl.fix.fails("2ba"))
        assert safe_as_is(cl.fix), cl.fix.doc["verdict"]


def test_fix_variants_name_their_library_and_the_marked_code():
    every = compat.load_all()
    names = {cl.name for cl in every}
    fixes = [cl for cl in every if cl.fix_of]
    assert fixes
    for fix in fixes:
        assert fix.name == fix.fix_of + "+fix" and fix.fix_of in names
        assert fix.doc["fix_source"], fix.name
        for rel in fix.doc["fix_source"]:
            text = open(os.path.join(compat.ADAPTERS, rel), encoding="utf-8").read()
            assert text.count(compat.FIX_BEGIN) == text.count(compat.FIX_END) >= 1, rel
            assert all(
                code.strip() for code in compat.marked_blocks(os.path.join(compat.ADAPTERS, rel))
            )


def test_a_changed_fix_changes_the_page_and_a_fix_that_fails_is_refused(monkeypatch):
    clients, checks = data()
    before = compat.render(clients, checks)[compat.MARKDOWN]
    lib = next(cl for cl in clients if cl.fix)
    rel = lib.fix.doc["fix_source"][0]
    code = compat.marked_blocks(os.path.join(compat.ADAPTERS, rel))[0]
    monkeypatch.setattr(compat, "marked_blocks", lambda path: [code.replace("\n", "\n\n", 1)])
    assert compat.render(clients, checks)[compat.MARKDOWN] != before
    monkeypatch.undo()
    broken = copy.deepcopy(clients)
    lib = next(cl for cl in broken if cl.fix)
    lib.fix.doc["deviations"].append(
        {"check": "refresh/single-flight", "result": "FAIL", "profile": "2ba"}
    )
    assert (
        "%s: the fix still FAILs in 2ba: refresh/single-flight" % lib.fix.name
        in compat.problems(broken, checks)
    )


def test_every_known_deviations_file_is_on_the_page_but_the_example():
    every = {cl.name for cl in compat.load_all()}
    files = {
        n[: -len(compat.SUFFIX)] for n in os.listdir(compat.ADAPTERS) if n.endswith(compat.SUFFIX)
    }
    assert every == files - set(compat.NOT_CLIENTS)
    clients, checks = data()
    page = compat.render(clients, checks)[compat.MARKDOWN]
    for name in every:
        assert "`--client %s`" % name in page, name
    assert compat.load_all()[0].name == "reference"


def test_an_unavailable_adapter_exits_77_with_its_install_command():
    """An adapter exits 127 when its toolchain is missing; the kit then exits 77 (ctest's SKIP)."""
    missing = (
        "jsonl:/bin/sh -c 'echo \"x: the toolchain is missing (apt-get install x)\" >&2; exit 127'"
    )
    p = subprocess.run(
        [
            os.path.join(KIT, "run"),
            "--client",
            missing,
            "--skip-unavailable",
            "--mock",
            "/bin/true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 77 and "apt-get install x" in p.stderr, (p.returncode, p.stderr)


def test_a_partners_adapter_is_started_without_input_only_when_asked(tmp_path):
    """A partner's adapter that waits regardless of its input must not hold a run up, so it is
    started without input (to learn that its toolchain is missing) only with --skip-unavailable."""
    sys.path.insert(0, KIT)
    from kit.mockserver import find_mock_binary

    mock = find_mock_binary()
    assert mock, "mock_server binary not found (build it or set TWOBA_MOCK_SERVER)"
    marker = tmp_path / "started-without-input"
    adapter = "jsonl:/bin/sh -c 'read line || touch %s; exit 127'" % marker
    run = [
        os.path.join(KIT, "run"),
        "--client",
        adapter,
        "--mock",
        mock,
        "--only",
        "token-request/form-values",
        "--wait",
        "0",
        "-j",
        "1",
        "--report",
        str(tmp_path / "report"),
    ]
    p = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert p.returncode != 77 and not marker.exists(), (p.returncode, p.stderr)
    p = subprocess.run(run + ["--skip-unavailable"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 77 and marker.exists(), (p.returncode, p.stderr)


def test_a_skeleton_without_its_toolchain_exits_127_naming_the_install(tmp_path):
    os.symlink(shutil.which("dirname"), tmp_path / "dirname")
    p = subprocess.run(
        ["/bin/sh", os.path.join(compat.ADAPTERS, "skeleton", "run"), "php"],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 127 and "apt-get install php-cli" in p.stderr, (p.returncode, p.stderr)


FENCES = {
    "javascript": "js",
    "go": "go",
    "php": "php",
    "java": "java",
    "c#": "csharp",
    "python": "python",
}


def test_adapters_md_shows_every_skeleton_as_shipped():
    """ADAPTERS.md's skeletons are the files the tests run (conformance.skeleton.*, and the
    Python one, conformance.adapter.example)."""
    doc = open(os.path.join(KIT, "ADAPTERS.md"), encoding="utf-8").read()
    assert set(compat.SKELETONS) == set(FENCES)
    for language, rel in compat.SKELETONS.items():
        blocks = re.findall(r"```%s\n(.*?)```" % re.escape(FENCES[language]), doc, re.S)
        shipped = open(os.path.join(compat.ADAPTERS, rel), encoding="utf-8").read()
        assert shipped in blocks, "ADAPTERS.md has no ```%s block equal to adapters/%s" % (
            FENCES[language],
            rel,
        )
