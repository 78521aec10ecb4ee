"""Unit tests of the kit itself: redaction, verdict bookkeeping, reports, catalog coverage and
the documentation staying true to the code. Run by ctest (conformance.kit_unit)."""

import base64
import importlib
import json
import os
import re
import sys
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
KIT = os.path.dirname(HERE)
sys.path.insert(0, KIT)
sys.path.insert(0, os.path.join(KIT, "checks"))

from kit import report  # noqa: E402
from kit.browser import _FormParser, with_query  # noqa: E402
from kit.catalog import CHECKS, Blocked, CheckContext, Skip, Verdict  # noqa: E402
from kit.known_deviations import compare, read_deviations  # noqa: E402
from kit.flows import FLOWS  # noqa: E402
from kit.journal import Journal  # noqa: E402
from kit.evidence import (
    RawChar,
    describe_mangling,
    entropy_bits,
    raw_chars,  # noqa: E402
    redirect_registered,
    s256,
    sent_access_token,
)
from kit.mockserver import (
    MockPaths,
    MockProcess,
    Scenario,
    find_mock_binary,
    fixtures_dir,
)  # noqa: E402
from kit.record import CheckRecord, read_records  # noqa: E402
from kit.runner import decide  # noqa: E402

# Imported for what they register: the flows and the checks of the catalog.
for _module in ("kit.scenarios", "test_code_flow", "test_token_request", "test_tokens"):
    importlib.import_module(_module)

# The paths of the mock's OpenAPI document in the source tree (what the mock serves).
with open(os.path.join(KIT, "..", "mock_server", "openapi.json"), encoding="utf-8") as _f:
    PATHS = MockPaths.from_openapi(json.load(_f))

SECRET, PASSWORD = "s3cr+t/=&x", "p@ss+w&rd é"
AT, RT, RT2 = "AT+aaaa/bbbb==", "RT+cccc/dddd==", "RT2-eeee"


def _entries():
    body = urllib.parse.urlencode(
        {
            "grant_type": "password",
            "username": "demo",
            "password": PASSWORD,
            "client_id": "c",
            "client_secret": SECRET,
        }
    )
    refresh = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": RT})
    basic = base64.b64encode(("c:" + urllib.parse.quote_plus(SECRET)).encode()).decode()
    return [
        {
            "seq": 1,
            "method": "POST",
            "path": "/s/x/OAuth/Token",
            "query": "",
            "body": body,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "status": 200,
            "response_body": json.dumps(
                {"access_token": AT, "token_type": "Bearer", "refresh_token": RT}
            ),
        },
        {
            "seq": 2,
            "method": "GET",
            "path": "/s/x/1/json/Product/Search",
            "query": "query=a",
            "headers": {"Authorization": "Bearer " + AT},
            "body": "",
            "status": 200,
            "response_body": "{}",
        },
        {
            "seq": 3,
            "method": "POST",
            "path": "/s/x/OAuth/Token",
            "query": "",
            "body": refresh,
            "headers": {"Authorization": "Basic " + basic},
            "status": 200,
            "response_body": json.dumps({"access_token": "AT2-zzzz", "refresh_token": RT2}),
        },
        {
            "seq": 4,
            "method": "POST",
            "path": "/s/x/OAuth/Token",
            "query": "",
            "body": refresh,
            "headers": {},
            "status": 400,
            "response_body": '{"error":"invalid_grant"}',
        },
    ]


def test_wire_log_redacts_every_secret_and_labels_tokens():
    j = Journal(_entries(), PATHS, {SECRET: "client_secret", PASSWORD: "password"})
    text = json.dumps(j.wire_log(), ensure_ascii=False)
    for secret in (
        SECRET,
        PASSWORD,
        AT,
        RT,
        RT2,
        urllib.parse.quote_plus(PASSWORD),
        urllib.parse.quote_plus(RT),
        base64.b64encode(("c:" + urllib.parse.quote_plus(SECRET)).encode()).decode(),
    ):
        assert secret not in text
    assert (
        "\u00abRT1\u00bb" in text and "\u00abAT1\u00bb" in text and "\u00abpassword\u00bb" in text
    )


def test_unknown_sensitive_values_are_masked():
    e = dict(_entries()[3], body="grant_type=refresh_token&refresh_token=never-issued-value")
    text = json.dumps(Journal([e], PATHS).wire_log())
    assert "never-issued-value" not in text and "unknown, 18 chars" in text


def test_rotation_state_is_tracked():
    j = Journal(_entries(), PATHS)
    assert [(r.seq, r.token, r.state) for r in j.refreshes] == [
        (3, RT, "active"),
        (4, RT, "rotated"),
    ]
    assert j.newest_access_token_before(3) == AT and j.newest_access_token_before(5) == "AT2-zzzz"


def test_describe_mangling():
    assert describe_mangling("a+b", "a b").startswith("every '+'")
    assert describe_mangling("a&b=c", "a").startswith("cut at")
    assert describe_mangling("abcdef", "abc").startswith("truncated")
    assert describe_mangling("x", "x") == "exact"


def test_helpers():
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    assert entropy_bits("aaaaaaaaaaaaaaaaaaaa") < 8 and entropy_bits("Zq3_x9-PfL2mW8sKt4bVy7") > 100
    assert redirect_registered(
        "http://127.0.0.1:4711/callback", ["http://127.0.0.1/callback"], "http://h"
    )
    assert not redirect_registered(
        "http://127.0.0.1:4711/other", ["http://127.0.0.1/callback"], "http://h"
    )
    assert with_query("http://a/cb?code=1&state=s", {"state": "x"}) == "http://a/cb?code=1&state=x"


def test_login_form_parser():
    p = _FormParser()
    p.feed(
        '<form method="post" action="/OAuth/Authorize?x=1"><input name="username">'
        '<input type="password" name="password"><input type="hidden" name="rid" value="42">'
        '<button type="submit" name="action" value="login">Log in</button>'
        '<button name="action" value="cancel">Cancel</button></form>'
    )
    f = p.forms[0]
    assert [i["name"] for i in f["inputs"]] == ["username", "password", "rid"]
    assert [b["text"] for b in f["buttons"]] == ["Log in", "Cancel"]


def test_verdicts_and_strict():
    c = CHECKS["refresh/single-flight"]
    ctx = CheckContext(c, "rfc6749", strict=False)
    ctx.violation("x")
    assert decide(ctx).verdict == "WARN"
    ctx = CheckContext(c, "rfc6749", strict=True)
    ctx.violation("x")
    assert decide(ctx).verdict == "FAIL"
    ctx = CheckContext(c, "2ba", strict=False)
    ctx.violation("x")
    assert decide(ctx).verdict == "FAIL"


def test_the_verdict_follows_how_the_check_stopped():
    c = CHECKS["refresh/single-flight"]

    def ctx_with(*levels):
        ctx = CheckContext(c, "2ba", strict=False)
        for lvl in levels:
            {"PASS": ctx.passed, "INFO": ctx.info, "WARN": ctx.warn, "FAIL": ctx.violation}[lvl](
                "m"
            )
        return ctx

    assert decide(ctx_with("PASS", "INFO")).verdict == Verdict.INFO
    assert decide(ctx_with()).verdict == Verdict.ERROR  # a check must say something
    assert decide(ctx_with("FAIL"), Skip("no code flow")) == decide(
        ctx_with(), Skip("no code flow")
    )
    assert decide(ctx_with("PASS"), Blocked("b")).verdict == Verdict.BLOCKED
    # A violation seen before the check ran out of evidence stands; the block is noted.
    ctx = ctx_with("WARN")
    out = decide(ctx, Blocked("b"))
    assert out.verdict == Verdict.WARN and out.reason is None and ctx.findings[-1].message == "b"
    out = decide(ctx_with("PASS"), KeyError("k"))
    assert (
        out.verdict == Verdict.ERROR
        and out.reason == "KeyError: 'k'"
        and "KeyError" in out.traceback
    )


def test_check_records_read_back_as_written(tmp_path):
    from kit.record import BlockedAt
    from kit.catalog import Finding

    rec = CheckRecord(
        "1.0",
        "alpha",
        "jsonl",
        {"name": "x"},
        "2ba",
        True,
        CHECKS["refresh/newest-token"].info("2ba"),
        Verdict.BLOCKED,
        "r",
        None,
        [Finding(Verdict.INFO, "m", "basic", [3, 4])],
        0.5,
        [{"flow": "basic"}],
        [BlockedAt("basic", "login", (1, 3), "error oauth")],
    )
    rec.write(str(tmp_path))
    assert read_records(str(tmp_path)) == [rec]
    assert (
        json.loads((tmp_path / "checks" / "refresh_newest-token.json").read_text())["verdict"]
        == "BLOCKED"
    )


def test_mock_paths_are_read_from_the_openapi_document():
    assert PATHS.token == {"/oauth/token", "/connect/token"}
    assert PATHS.authorize == {"/oauth/authorize", "/connect/authorize"}  # not the base URL "/"
    assert (PATHS.product, PATHS.control) == ("/1/json", "/__mock")
    assert PATHS.is_token("/s/x/OAuth/Token?a=1") and PATHS.is_token("/connect/token/")
    assert not PATHS.is_token("/s/x/OAuth/Authorize") and PATHS.is_authorize("/s/x/oauth/authorize")
    assert PATHS.is_api("/s/x/1/json/Product/Search?q=1") and not PATHS.is_api("/s/x/1/jsonx/y")
    doc = {"paths": {"/connect/token": {"post": {"tags": ["token"]}}}}
    with pytest.raises(ValueError):
        MockPaths.from_openapi(doc)  # neither 2BA's token path nor a control API


def _rec(cid, verdict, **fields):
    return CheckRecord.from_json(
        dict({"check": {"id": cid}, "verdict": verdict, "findings": []}, **fields)
    )


def test_known_deviations(tmp_path):
    recs = [_rec("a", "FAIL"), _rec("b", "PASS"), _rec("c", "WARN")]
    p = tmp_path / "d.json"

    def devs(*items):
        p.write_text(json.dumps({"deviations": list(items)}))
        return read_deviations(str(p))

    assert len(compare(recs, None, "2ba", False).unexpected) == 1
    assert compare(recs, devs({"check": "a", "result": "FAIL"}), "2ba", False).unexpected == []
    unexpected = compare(
        recs, devs({"check": "a", "result": "FAIL"}, {"check": "b", "result": "FAIL"}), "2ba", False
    ).unexpected
    assert unexpected == ["b: expected FAIL, got PASS"]
    assert (
        compare(
            recs, devs({"check": "a", "result": "FAIL", "profile": "bcp"}), "2ba", False
        ).unexpected
        != []
    )
    # A BLOCKED check is not a failure of its own, but it is no PASS either when a list is given.
    blocked = recs + [_rec("d", "BLOCKED", reason="r")]
    assert len(compare(blocked, None, "2ba", False).unexpected) == 1
    assert (
        len(compare(blocked, devs({"check": "a", "result": "FAIL"}), "2ba", False).unexpected) == 1
    )
    p.write_text('{"deviations":[{"check":"a"}]}')
    with pytest.raises(ValueError):
        read_deviations(str(p))


def test_catalog_covers_the_required_rows():
    required = [
        "R%02d" % i
        for i in list(range(1, 14))
        + list(range(15, 21))
        + list(range(22, 26))
        + list(range(27, 31))
        + [32, 33, 35]
        + list(range(37, 45))
        + [47, 48, 50, 51, 54]
    ]
    covered = {r for c in CHECKS.values() if c.in_profile("2ba") for r in c.catalog_ids}
    assert sorted(set(required) - covered) == []
    for c in CHECKS.values():
        assert c.catalog_ids and set(c.grade) <= {"2ba", "rfc6749", "bcp"} and c.description


def test_every_flow_fixture_exists_and_kit_fixtures_are_documented():
    readme = open(os.path.join(fixtures_dir(), "README.md"), encoding="utf-8").read()
    for f in FLOWS.values():
        for fixture in filter(None, (f.fixture, f.real_time_fixture)):
            assert os.path.exists(os.path.join(fixtures_dir(), fixture + ".json")), fixture
        assert f.doc, f.name
    for name in os.listdir(fixtures_dir()):
        if name.startswith("conformance-"):
            assert "`%s`" % name in readme, name


def test_adapters_md_example_is_the_shipped_adapter():
    doc = open(os.path.join(KIT, "ADAPTERS.md"), encoding="utf-8").read()
    block = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    assert (
        block == open(os.path.join(KIT, "adapters", "example_adapter.py"), encoding="utf-8").read()
    )


def _record(cid, verdict, client):
    return {
        "client": client,
        "check": CHECKS[cid].info("2ba").to_json(),
        "verdict": verdict,
        "reason": None,
        "findings": [{"level": verdict, "message": "m <b>"}],
        "duration_s": 0.1,
        "evidence": [
            {
                "flow": "basic",
                "fixture": "fixtures/default.json",
                "description": "d",
                "steps": [],
                "wire_log": Journal(_entries(), PATHS, {SECRET: "client_secret"}).wire_log(),
            }
        ],
    }


def test_reports_merge_runs(tmp_path):
    for client, verdict in (("alpha", "PASS"), ("beta", "FAIL")):
        d = tmp_path / ("%s-2ba" % client) / "checks"
        d.mkdir(parents=True)
        (d / "refresh_newest-token.json").write_text(
            json.dumps(_record("refresh/newest-token", verdict, client))
        )
        (d.parent / "run.json").write_text(json.dumps({"client": client, "profile": "2ba"}))
    report.write_all(str(tmp_path))
    junit = (tmp_path / "junit.xml").read_text()
    assert junit.count("<testsuite ") == 2 and 'name="requirement" value="R38"' in junit
    assert "<failure" in junit
    idx = json.loads((tmp_path / "index.json").read_text())
    assert [r["checks"]["refresh/newest-token"]["verdict"] for r in idx["runs"]] == ["PASS", "FAIL"]
    page = (tmp_path / "report.html").read_text()
    assert "alpha" in page and "beta" in page and "refresh/newest-token" in page
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)  # self-contained
    assert SECRET not in page and "m <b>" not in page.split("const DATA=")[0]


@pytest.mark.skipif(not find_mock_binary(), reason="mock_server binary not built")
def test_journal_positions_against_the_mock():
    m = MockProcess(find_mock_binary(), os.path.join(fixtures_dir(), "default.json"))
    try:
        s = Scenario(m.url, "default")
        s.reset()
        first = s.next_seq()
        s.http.get(s.base + "/1/json/Product/Search?query=x", timeout=5)
        assert s.next_seq() == first + 1
        assert [e["seq"] for e in s.journal(first)] == [first]
    finally:
        m.stop()


def test_short_secrets_are_masked_without_eating_other_words():
    e = {
        "seq": 1,
        "method": "POST",
        "path": "/OAuth/Token",
        "query": "",
        "status": 400,
        "body": "grant_type=password&username=demo&password=demo&client_id=demo-client",
        "headers": {},
        "response_body": "",
    }
    log = Journal([e], PATHS, {"demo": "password"}).wire_log()[0]
    assert (
        log["body"]
        == "grant_type=password&username=demo&password=\u00abpassword\u00bb&client_id=demo-client"
    )


def test_raw_form_characters_are_classed_by_how_parsers_read_them():
    # Node's querystring leaves ! ' ( ) * ~ raw: nothing a parser reads differently.
    js = "client_secret=s3cr%2Bt%2Fwith%3D%26%25%3A%20space~!*'()&grant_type=password"
    assert raw_chars(js) == {RawChar.NO_MEANING: "!'()"}
    assert raw_chars("a=b%2B%C3%A9+c&d=e*f-g.h_i~") == {}
    # No encoding at all: every class that parsers may read differently shows up.
    raw = "username=jan+de/vries=&%\u00e9&password=p@ss+word/=&% \u00e9;x\x01"
    assert raw_chars(raw) == {
        RawChar.NO_MEANING: "/=@",
        RawChar.BAD_PERCENT: "%",
        RawChar.NON_ASCII: "\u00e9",
        RawChar.SPACE_OR_CONTROL: "\x01 ",
        RawChar.SEMICOLON: ";",
    }
    assert raw_chars("a=%4") == {RawChar.BAD_PERCENT: "%"} and raw_chars("a=%zz") == {
        RawChar.BAD_PERCENT: "%"
    }


def test_form_values_grades_raw_characters_per_class():
    from test_token_request import RAW_FORM_GRADES

    assert set(RAW_FORM_GRADES) == set(RawChar)
    no_meaning = RAW_FORM_GRADES[RawChar.NO_MEANING][0]
    assert "FAIL" not in no_meaning.values() and "WARN" not in no_meaning.values()
    assert RAW_FORM_GRADES[RawChar.BAD_PERCENT][0]["2ba"] == "FAIL"


class _FormRun:
    """Just enough of a flow run for token-request/form-values: one password grant whose raw
    body is given, and one refresh with an issued refresh token."""

    name = "hostile-credentials"
    username, password = "jan+de/vries=&%\u00e9", "p@ss+word/=&% \u00e9\u20ac"
    client_id, client_secret = "hostile+client/=&%", "s3cr+t/with=&%: space~!*'()"

    def __init__(self, body):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        rt = "R+/="
        self.journal = Journal(
            [
                {
                    "seq": 1,
                    "method": "POST",
                    "path": "/s/x/OAuth/Token",
                    "headers": form,
                    "body": body,
                    "status": 200,
                    "response_body": json.dumps({"access_token": "A", "refresh_token": rt}),
                },
                {
                    "seq": 2,
                    "method": "POST",
                    "path": "/s/x/OAuth/Token",
                    "headers": form,
                    "status": 200,
                    "body": urllib.parse.urlencode(
                        {"grant_type": "refresh_token", "refresh_token": rt}
                    ),
                    "response_body": "{}",
                },
            ],
            PATHS,
        )

    def step_of(self, e):
        return None

    def root_cause(self):
        return None


def _form_values_verdict(encode, profile="2ba"):
    r = _FormRun("")
    fields = {
        "grant_type": "password",
        "username": r.username,
        "password": r.password,
        "client_id": r.client_id,
        "client_secret": r.client_secret,
    }
    run = _FormRun("&".join("%s=%s" % (k, encode(v)) for k, v in fields.items()))
    ctx = CheckContext(CHECKS["token-request/form-values"], profile, strict=True)
    CHECKS["token-request/form-values"].fn(ctx, run)
    return str(decide(ctx).verdict)


def test_form_values_fails_what_servers_read_wrong_and_passes_what_they_read_right():
    js = lambda v: urllib.parse.quote(v, safe="-_.!~*'()")  # noqa: E731 (encodeURIComponent)
    assert _form_values_verdict(urllib.parse.quote_plus) == "PASS"
    assert _form_values_verdict(js) == "PASS"
    assert _form_values_verdict(js, "rfc6749") == "INFO"  # HTML 4.01 would escape ! ' ( )
    assert _form_values_verdict(lambda v: v) == "FAIL"  # no encoding
    plus_kept = lambda v: urllib.parse.quote_plus(v).replace("%2B", "+")  # noqa: E731
    assert _form_values_verdict(plus_kept) == "FAIL"  # a literal + read as a space
    amp_kept = lambda v: urllib.parse.quote_plus(v).replace("%26", "&")  # noqa: E731
    assert _form_values_verdict(amp_kept) == "FAIL"  # a raw & splits the value
    eq_kept = lambda v: urllib.parse.quote_plus(v).replace("%3D", "=")  # noqa: E731
    assert _form_values_verdict(eq_kept) == "PASS"  # parsers split at a pair's first =
    raw_utf8 = lambda v: urllib.parse.quote_plus(v).replace("%C3%A9", "\u00e9")  # noqa: E731
    assert _form_values_verdict(raw_utf8) == "FAIL"  # WARN, counted as FAIL with --strict


def test_form_encoded_accepts_every_utf8_label():
    from test_token_request import UTF8_LABELS, _charset

    assert _charset('application/x-www-form-urlencoded; charset="UTF-8"') in UTF8_LABELS
    assert _charset("application/x-www-form-urlencoded;charset=utf8") in UTF8_LABELS
    assert _charset("application/x-www-form-urlencoded;charset=ISO-8859-1") not in UTF8_LABELS
    assert _charset("application/x-www-form-urlencoded") is None


def test_the_sent_access_token_is_found_wherever_it_travels():
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert sent_access_token({"headers": {"authorization": "bearer a+b"}, "query": ""}) == "a+b"
    assert sent_access_token({"headers": {}, "query": "gtin=1&access_token=a%2Bb"}) == "a+b"
    assert sent_access_token({"headers": form, "query": "", "body": "access_token=a%2Bb"}) == "a+b"
    assert sent_access_token({"headers": {}, "query": "gtin=1", "body": "x_access_token=1"}) is None


def test_every_check_is_proven_by_a_broken_client():
    """For every check of every profile a self-test variant must FAIL it (run with --strict, so
    a WARN grade counts; the expectation file names the profile); every fault of the self-test
    client has its expectation file and FAILs at least one check, and the clean client and the
    correct variants (clients that differ on the wire as popular ones do) none. ctest runs each
    against its file, so a proof that stops failing, or a correct client that starts, fails
    there."""
    sys.path.insert(0, os.path.join(KIT, "selftest"))
    from mutant_client import FAULTS, VARIANTS

    exp_dir = os.path.join(KIT, "selftest", "expected")
    files = {
        n[:-5]: json.load(open(os.path.join(exp_dir, n), encoding="utf-8"))
        for n in os.listdir(exp_dir)
        if n.endswith(".json")
    }
    assert files.pop("clean")["deviations"] == []
    for variant in VARIANTS:
        assert files.pop(variant)["deviations"] == [], variant
    assert not set(FAULTS) & set(VARIANTS)
    assert sorted(files) == sorted(FAULTS)
    proven = {}
    for fault, doc in files.items():
        profile = doc.get("profile", "2ba")
        fails = [d["check"] for d in doc["deviations"] if d["result"] == "FAIL"]
        assert fails, "%s FAILs no check" % fault
        for cid in fails:
            assert cid in CHECKS and CHECKS[cid].in_profile(profile), (fault, cid)
            proven.setdefault(cid, []).append(fault)
    unproven = sorted(c.id for c in CHECKS.values() if c.id not in proven)
    assert unproven == [], "checks no broken client makes FAIL: %s" % ", ".join(unproven)


def _fake_adapter(tmp_path, body):
    p = tmp_path / "fake_adapter.py"
    p.write_text("import json, sys\n" + body)
    return [sys.executable, str(p)]


def test_jsonl_adapter_negotiates_version_2_and_quotes_bad_lines(tmp_path):
    from kit.adapter import AdapterError, JsonlAdapter

    argv = _fake_adapter(
        tmp_path,
        """
for line in sys.stdin:
    m = json.loads(line)
    if m["cmd"] == "start":
        print(json.dumps({"ready": True, "version": m["version"]}), flush=True)
    elif m["cmd"] == "advance_time":
        print(json.dumps({"seq": m["seq"], "ok": True, "seconds": m["seconds"]}), flush=True)
    elif m["cmd"] == "refresh":
        print(json.dumps({"seq": m["seq"], "error": {"kind": "oauth", "message": "refresh said no"}}), flush=True)
    else:
        print("debug: not json", flush=True)
""",
    )
    a = JsonlAdapter(argv, str(tmp_path / "err.log"))
    assert a.start({})["version"] == 2 and a.version == 2
    assert a.command("advance_time", {"seconds": 3601}).data["seconds"] == 3601
    assert a.command("refresh").describe() == "error oauth: refresh said no"
    with pytest.raises(AdapterError, match="'debug: not json'"):
        a.command("call_api")
    a.stop()


def test_jsonl_adapter_that_dies_in_the_handshake_says_how(tmp_path):
    from kit.adapter import AdapterError, JsonlAdapter

    a = JsonlAdapter(
        _fake_adapter(
            tmp_path, 'sys.stderr.write("ImportError: no module named foo\\n"); sys.exit(3)\n'
        ),
        str(tmp_path / "err.log"),
    )
    with pytest.raises(AdapterError, match=r"status 3.*no module named foo"):
        a.start({})
    a.stop()


def test_one_shot_adapter_declares_protocol_in_info_and_gets_a_filtered_environment(
    tmp_path, monkeypatch
):
    from kit import adapter

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/elsewhere.pem")
    monkeypatch.setenv("TWOBA_TOKEN_URL", "http://stale")
    script = tmp_path / "cli.sh"
    script.write_text(
        '#!/bin/sh\ncase "$1" in\n'
        '  info) echo \'RESULT {"protocol":2,"name":"x","version":"9.1"}\' ;;\n'
        '  env) echo "RESULT {\\"ca\\":\\"${REQUESTS_CA_BUNDLE:-}\\",\\"url\\":\\"${TWOBA_TOKEN_URL:-}\\"}"; exit 6 ;;\n'
        "  *) exit 127 ;;\nesac\n"
    )
    script.chmod(0o755)
    adapter._INFO_CACHE.clear()
    a = adapter.OneShotAdapter([str(script)], str(tmp_path / "err.log"))
    assert a.start({"client_id": "c"})["version"] == 2
    assert a.implementation == {"name": "x", "version": "9.1"}
    r = a.command("env")
    assert r.status == "error" and r.kind == "oauth" and r.data == {"ca": "", "url": ""}
    assert a.command("advance_time", {"seconds": 5}).status == "skipped"
    assert "REQUESTS_CA_BUNDLE" in adapter.withheld_names()
    assert "REQUESTS_CA_BUNDLE" in adapter.adapter_environment(keep=["REQUESTS_CA_BUNDLE"])


def test_adapter_messages_are_redacted_in_evidence():
    from kit.adapter import Reply
    from kit.flows import FlowRun, Step

    run = FlowRun.__new__(FlowRun)
    run.steps = [Step(1, "login", "login_password", {}, 1)]
    run.steps[0].reply = Reply("error", kind="oauth", message="server said: bad secret " + SECRET)
    run.skipped = "cannot use " + SECRET
    run.aborted = run.error = None
    run.journal = Journal([], PATHS, {SECRET: "client_secret"})
    run._redact_replies()
    assert (
        SECRET not in run.steps[0].reply.message
        and "\u00abclient_secret\u00bb" in run.steps[0].reply.message
    )
    assert SECRET not in run.skipped


def test_root_causes_group_blocked_checks_under_the_fail_that_explains_them():
    fail = _rec(
        "client-auth/one-method",
        "FAIL",
        findings=[{"level": "FAIL", "message": "Basic and body", "flow": "basic", "seq": [16]}],
    )
    blocked = [
        _rec(
            cid,
            "BLOCKED",
            reason="x — blocked: y",
            blocked_at=[
                {
                    "flow": flow,
                    "step": "login",
                    "seq": [lo, lo + 1],
                    "reply": "error oauth: HTTP 400",
                }
            ],
        )
        for cid, flow, lo in (
            ("refresh/newest-token", "basic", 16),
            ("refresh/survives-restart", "restart", 30),
        )
    ]
    rc = report.root_causes([fail] + blocked)
    assert len(rc) == 1
    assert rc[0]["explained_by"] == ["client-auth/one-method"]
    assert rc[0]["blocked"] == ["refresh/newest-token", "refresh/survives-restart"]
    assert rc[0]["flows"] == ["basic", "restart"]
    lines = report.root_cause_lines([fail] + blocked)
    assert (
        "explained by FAIL client-auth/one-method" in lines[1] and "blocks 2 check(s)" in lines[2]
    )


def test_every_step_label_the_checks_look_up_is_a_step_of_a_flow():
    from kit import step_labels

    class Recorder:
        """Runs a flow's script without client or mock, keeping the labels of its steps; every
        step fails, so that the retries a flow makes after a failed step are taken too."""

        paths, labels = PATHS, set()

        def step(self, label, *args, **kwargs):
            self.labels.add(label)
            return type("S", (), {"reply": type("R", (), {"ok": False})()})()

        def login_password(self, label=step_labels.LOGIN, **kwargs):
            return self.step(label)

        login_code = call_api = refresh = restart = step

        def __getattr__(self, name):  # control actions: faults, clocks, waits
            return lambda *args, **kwargs: None

        def access_token_lifetime(self):
            return 1

    rec = Recorder()
    for spec in FLOWS.values():
        spec.fn(rec)
    constants = {v for k, v in vars(step_labels).items() if k.isupper() and isinstance(v, str)}
    assert constants and constants <= rec.labels
