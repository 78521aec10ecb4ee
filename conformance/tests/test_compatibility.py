"""conformance/compatibility: the pages follow the check catalog and the known-deviations files,
and incomplete data is refused."""

import copy
import importlib.machinery
import importlib.util
import os
import sys

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_loader = importlib.machinery.SourceFileLoader("kit_compatibility", os.path.join(KIT, "compatibility"))
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
            assert sum(compat.counts(cl, checks, p).values()) == sum(c.in_profile(p) for c in checks.values())


def test_a_changed_deviation_or_catalog_changes_the_pages():
    clients, checks = data()
    before = compat.render(clients, checks)
    changed = copy.deepcopy(clients)
    lib = next(cl for cl in changed if cl.doc["deviations"])
    lib.doc["deviations"][0]["result"] = "PASS" if lib.doc["deviations"][0]["result"] != "PASS" else "FAIL"
    assert compat.render(changed, checks)[compat.MARKDOWN] != before[compat.MARKDOWN]
    fewer = dict(checks)
    fewer.pop(next(iter(fewer)))
    after = compat.render(clients, fewer)
    assert after[compat.MARKDOWN] != before[compat.MARKDOWN] and after[compat.HTML_PAGE] != before[compat.HTML_PAGE]


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
