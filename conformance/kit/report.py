"""Report files: index.json, junit.xml and the self-contained report.html matrix (clients ×
checks). Several runs in one report directory merge into one matrix."""

from __future__ import annotations

import html
import json
import os
import re
import time
import xml.etree.ElementTree as ET

from .catalog import CheckInfo, Verdict, rfc_url
from .record import CheckRecord, read_records, record_file_name


def slug(s):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)


def load_run(run_dir: str) -> tuple[dict, list[CheckRecord]]:
    """A run directory's run.json (written by conformance/run) and its check records."""
    meta = {}
    mp = os.path.join(run_dir, "run.json")
    if os.path.exists(mp):
        with open(mp, encoding="utf-8") as f:
            meta = json.load(f)
    return meta, read_records(run_dir)


VERDICT_ORDER = tuple(str(v) for v in Verdict)


def root_causes(recs: list[CheckRecord]) -> list[dict]:
    """Where flows were cut short, grouped by the failed step and the client's reply (one login
    bug stops a dozen flows the same way): the flows, the FAILed checks whose findings point at
    requests of those steps (the root causes), and the checks they blocked."""
    groups = {}
    for r in recs:
        if r.verdict != Verdict.BLOCKED:
            continue
        places = r.blocked_at or [None]
        for b in places:
            # The same client reply stopping several steps is one cause.
            key = (b.reply or b.step if b else None) or r.reason or ""
            g = groups.setdefault(
                key, {"places": set(), "steps": set(), "blocked": set(), "reason": r.reason or ""}
            )
            g["places"].add((b.flow, b.seq) if b else (None, (0, 0)))
            if b and b.step:
                g["steps"].add(re.sub(r"-?\d+$", "", b.step))
            g["blocked"].add(r.check.id)
    out = []
    for reply, g in groups.items():
        explaining = sorted(
            {
                x.check.id
                for x in recs
                if x.verdict in (Verdict.FAIL, Verdict.WARN)
                for f in x.findings
                for flow, (lo, hi) in g["places"]
                if f.flow == flow and any(lo <= q < hi for q in f.seqs)
            }
        )
        flows = sorted({flow for flow, _ in g["places"] if flow})
        cause = (
            "%s failed (%s) in flow(s) %s"
            % ("/".join("'%s'" % x for x in sorted(g["steps"])), reply, ", ".join(flows))
            if g["steps"]
            else g["reason"].split(" — blocked: ", 1)[-1]
        )
        out.append(
            {
                "cause": cause,
                "flows": flows,
                "explained_by": explaining,
                "blocked": sorted(g["blocked"]),
            }
        )
    return out


def root_cause_lines(recs: list[CheckRecord]) -> list[str]:
    rc = root_causes(recs)
    if not rc:
        return []
    lines = ["root causes (what stopped the BLOCKED checks):"]
    for c in rc:
        who = (
            ("explained by FAIL " + ", ".join(c["explained_by"]))
            if c["explained_by"]
            else "no check judges it: see the step's reply and the wire log"
        )
        lines.append("  %s — %s" % (c["cause"], who))
        lines.append("    blocks %d check(s): %s" % (len(c["blocked"]), ", ".join(c["blocked"])))
    return lines


def summarize(recs: list[CheckRecord]) -> dict[str, int]:
    out = {}
    for r in recs:
        out[str(r.verdict)] = out.get(str(r.verdict), 0) + 1
    return out


def all_runs(report_dir: str) -> list[tuple[str, dict, list[CheckRecord]]]:
    """Every run in the directory, in the order they were made."""
    runs = []
    for name in sorted(os.listdir(report_dir)):
        p = os.path.join(report_dir, name)
        if os.path.isdir(p) and os.path.exists(os.path.join(p, "run.json")):
            meta, recs = load_run(p)
            runs.append((name, meta, recs))
    return sorted(runs, key=lambda r: (r[1].get("started", ""), r[0]))


def write_index(report_dir, runs):
    idx = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": []}
    for name, meta, recs in runs:
        idx["runs"].append(
            {
                "dir": name,
                **meta,
                "summary": summarize(recs),
                "checks": {
                    r.check.id: {
                        "verdict": str(r.verdict),
                        "requirements": r.check.requirements,
                        "duration_s": r.duration_s,
                        "file": "%s/checks/%s" % (name, record_file_name(r.check.id)),
                    }
                    for r in recs
                },
            }
        )
    with open(os.path.join(report_dir, "index.json"), "w", encoding="utf-8") as f:
        json.dump(idx, f, indent=1)


def write_junit(report_dir, runs):
    """One <testsuite> per run; requirement IDs as <properties> on each <testcase>."""
    root = ET.Element("testsuites", name="2BA client conformance")
    for name, meta, recs in runs:
        s = summarize(recs)
        ts = ET.SubElement(
            root,
            "testsuite",
            name="%s [%s%s]"
            % (
                meta.get("client", name),
                meta.get("profile", ""),
                " strict" if meta.get("strict") else "",
            ),
            tests=str(len(recs)),
            failures=str(s.get("FAIL", 0)),
            errors=str(s.get("ERROR", 0)),
            skipped=str(s.get("SKIP", 0) + s.get("BLOCKED", 0)),
            time="%.3f" % sum(r.duration_s for r in recs),
        )
        props = ET.SubElement(ts, "properties")
        for k in ("client", "profile", "strict", "kit_version", "transport"):
            ET.SubElement(props, "property", name=k, value=str(meta.get(k, "")))
        for r in recs:
            c = r.check
            tc = ET.SubElement(
                ts,
                "testcase",
                classname="conformance.%s" % c.id.split("/")[0],
                name=c.id,
                time="%.3f" % r.duration_s,
            )
            p = ET.SubElement(tc, "properties")
            for req in c.requirements:
                ET.SubElement(p, "property", name="requirement", value=req)
            ET.SubElement(p, "property", name="verdict", value=str(r.verdict))
            msgs = "\n".join("%s: %s" % (f.level, f.message) for f in r.findings)
            if r.verdict == Verdict.FAIL:
                el = ET.SubElement(
                    tc,
                    "failure",
                    message=(r.first_message((Verdict.FAIL, Verdict.WARN)) or str(r.verdict))[:300],
                )
                el.text = msgs
            elif r.verdict == Verdict.ERROR:
                el = ET.SubElement(tc, "error", message=r.reason or "error")
                el.text = r.traceback or ""
            elif r.verdict in (Verdict.SKIP, Verdict.BLOCKED):
                ET.SubElement(tc, "skipped", message="%s: %s" % (r.verdict, r.reason or ""))
            else:
                so = ET.SubElement(tc, "system-out")
                so.text = "%s\n%s" % (r.verdict, msgs)
    ET.indent(root)
    ET.ElementTree(root).write(
        os.path.join(report_dir, "junit.xml"), encoding="utf-8", xml_declaration=True
    )


def write_html(report_dir, runs):
    """A matrix of checks (rows) × runs (columns); a click on a cell opens its findings, steps
    and wire log. Everything inline: no external file, no network."""
    checks: dict[str, CheckInfo] = {}
    for _, _, recs in runs:
        for r in recs:
            checks.setdefault(r.check.id, r.check)

    def key(cid):
        ids = checks[cid].catalog_ids
        return (min(ids) if ids else "R99", cid)

    order = sorted(checks, key=key)
    data = {
        "runs": [],
        "checks": [dict(checks[c].to_json(), section=section_of(checks[c])) for c in order],
    }
    for name, meta, recs in runs:
        flows = {}
        cells = {}
        for r in recs:
            names = []
            for ev in r.evidence:
                flows.setdefault(ev["flow"], ev)
                names.append(ev["flow"])
            cells[r.check.id] = {
                "verdict": str(r.verdict),
                "findings": [f.to_json() for f in r.findings],
                "blocked_at": [b.to_json() for b in r.blocked_at],
                "reason": r.reason,
                "flows": names,
                "duration_s": r.duration_s,
            }
        data["runs"].append(
            {
                "dir": name,
                "meta": meta,
                "summary": summarize(recs),
                "cells": cells,
                "flows": flows,
                "root_causes": root_causes(recs),
            }
        )
    payload = json.dumps(data).replace("</", "<\\/")
    links = {}
    for c in data["checks"]:
        for req in c["requirements"]:
            u = rfc_url(req)
            if u:
                links[req] = u
    page = _TEMPLATE.replace("/*DATA*/", payload).replace("/*LINKS*/", json.dumps(links))
    page = page.replace(
        "<!--TITLE-->", html.escape("2BA client conformance — %d run(s)" % len(runs))
    )
    with open(os.path.join(report_dir, "report.html"), "w", encoding="utf-8") as f:
        f.write(page)


# The sections of the requirement catalog (R01–R54).
SECTIONS = [
    (6, "A · shape of the token request"),
    (11, "B · client authentication"),
    (14, "C · password grant"),
    (21, "D · authorization request"),
    (26, "E · authorization response"),
    (36, "F · token response"),
    (46, "G · refresh and rotation"),
    (49, "H · errors, retries, backoff"),
    (52, "I · using the token"),
    (54, "J · transport security"),
]


def section_of(check: CheckInfo) -> str:
    ids = [int(r[1:]) for r in check.catalog_ids]
    n = min(ids) if ids else 99
    return next((name for last, name in SECTIONS if n <= last), "other")


def write_all(report_dir):
    runs = all_runs(report_dir)
    write_index(report_dir, runs)
    write_junit(report_dir, runs)
    write_html(report_dir, runs)
    return runs


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title><!--TITLE--></title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2a44;color:#fff;padding:14px 22px}
header h1{font-size:19px;margin:0 0 4px}
header .sub{opacity:.8;font-size:13px}
main{display:flex;gap:18px;padding:18px 22px;align-items:flex-start}
#matrix{border-collapse:separate;border-spacing:0;background:#fff;border:1px solid #d5d9e0;border-radius:6px}
#matrix th,#matrix td{padding:5px 9px;border-bottom:1px solid #eceef2;text-align:left;white-space:nowrap}
#matrix thead th{position:sticky;top:0;background:#fff;vertical-align:bottom;border-bottom:2px solid #c6ccd6}
#matrix thead th.run{text-align:center;font-size:13px}
#matrix thead th.run small{display:block;font-weight:normal;color:#667}
#matrix td.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
#matrix td.req{color:#556;font-size:12px}
#matrix tr.sec td{background:#eef1f6;font-weight:600;font-size:12px;letter-spacing:.03em;color:#445}
td.cell{text-align:center!important;cursor:pointer;font-weight:600;font-size:12px;min-width:74px}
td.cell span{display:inline-block;min-width:52px;padding:2px 6px;border-radius:4px}
.PASS{background:#d6f5dd;color:#11642a}.FAIL{background:#fbd5d5;color:#9b1c1c}
.WARN{background:#fdf0c4;color:#7a5600}.INFO{background:#dbe9fb;color:#1e4f8f}
.SKIP{background:#eceef2;color:#667}.BLOCKED{background:#ece3f7;color:#553a7a}.ERROR{background:#3b0d0d;color:#fff}.NONE{color:#bbb}
td.cell.sel span{outline:2px solid #1d2a44}
#detail{flex:1;min-width:340px;overflow-wrap:anywhere;background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:14px 18px;position:sticky;top:10px;max-height:92vh;overflow:auto}
#detail h2{font-size:16px;margin:0 0 6px}
#detail .muted{color:#667}
.finding{margin:4px 0;padding:4px 8px;border-radius:4px;font-size:13px}
table.steps{border-collapse:collapse;font-size:12.5px;margin:6px 0}
table.steps td{border-bottom:1px solid #eee;padding:3px 6px;vertical-align:top}
table.steps td:nth-child(4),table.steps td:nth-child(5){white-space:nowrap}
pre{background:#f3f4f7;padding:6px 8px;border-radius:4px;white-space:pre-wrap;word-break:break-all;font-size:12px;margin:3px 0}
details{margin:4px 0}summary{cursor:pointer}
.tot span{margin-right:6px;padding:1px 6px;border-radius:4px;font-size:12px}
a{color:#1f5fbf}
</style></head><body>
<header><h1>2BA client conformance</h1><div class="sub" id="sub"></div></header>
<section id="causes" style="padding:10px 22px 0"></section>
<main><table id="matrix"></table><section id="detail"><h2>Select a cell</h2>
<p class="muted">Rows are checks (tagged with requirement IDs), columns are client runs. Click a verdict to see the
findings, the scenario steps and the mock's wire log (secrets redacted: «password», «RT3», …).</p></section></main>
<script>
const DATA=/*DATA*/;const LINKS=/*LINKS*/;
const esc=s=>String(s==null?"":s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const tbl=document.getElementById("matrix");
{let c="";DATA.runs.forEach(r=>{(r.root_causes||[]).forEach(x=>{c+=`<div class="finding BLOCKED"><b>${esc(r.meta.client||r.dir)}</b> · root cause: ${esc(x.cause)}${x.explained_by.length?" — <b>FAIL "+esc(x.explained_by.join(", "))+"</b>":""}<br><span class="muted">blocks ${x.blocked.length} check(s): ${esc(x.blocked.join(", "))}</span></div>`})});
 document.getElementById("causes").innerHTML=c?"<h2 style='font-size:15px;margin:0 0 4px'>Root causes</h2>"+c:""}
document.getElementById("sub").textContent=DATA.runs.length+" run(s) × "+DATA.checks.length+" checks · verdicts judged from the mock server's request journal";
let h="<thead><tr><th>check</th><th>requirements</th>";
DATA.runs.forEach((r,i)=>{const m=r.meta;const tot=Object.entries(r.summary).map(([k,v])=>`<span class="${k}">${v} ${k}</span>`).join("");
 h+=`<th class="run">${esc(m.client||r.dir)}<small>${esc(m.profile||"")}${m.strict?" strict":""} · ${esc((m.implementation||{}).version||m.transport||"")}</small><div class="tot">${tot}</div></th>`});
h+="</tr></thead><tbody>";let sec="";
DATA.checks.forEach(c=>{const s=c.section;if(s!==sec){sec=s;h+=`<tr class="sec"><td colspan="${2+DATA.runs.length}">${esc(s)}</td></tr>`}
 h+=`<tr><td class="id" title="${esc(c.title)}">${esc(c.id)}</td><td class="req">${c.requirements.filter(x=>/^R\d\d$/.test(x)).join(" ")}</td>`;
 DATA.runs.forEach((r,i)=>{const cell=r.cells[c.id];const v=cell?cell.verdict:"NONE";
  h+=`<td class="cell" data-run="${i}" data-check="${esc(c.id)}"><span class="${v}">${v==="NONE"?"—":v}</span></td>`});h+="</tr>"});
tbl.innerHTML=h+"</tbody>";
tbl.addEventListener("click",ev=>{const td=ev.target.closest("td.cell");if(!td)return;
 document.querySelectorAll("td.cell.sel").forEach(x=>x.classList.remove("sel"));td.classList.add("sel");
 show(+td.dataset.run,td.dataset.check)});
function reqLinks(c){return c.requirements.map(r=>LINKS[r]?`<a href="${LINKS[r]}">${esc(r)}</a>`:esc(r)).join(", ")}
function show(ri,cid){const run=DATA.runs[ri];const c=DATA.checks.find(x=>x.id===cid);const cell=run.cells[cid];
 let o=`<h2>${esc(c.id)} — <span class="${cell?cell.verdict:"NONE"}" style="padding:1px 6px;border-radius:4px">${cell?cell.verdict:"not run"}</span></h2>`;
 o+=`<div><b>${esc(c.title)}</b></div><div class="muted">${esc(run.meta.client||run.dir)} · profile ${esc(run.meta.profile)} · requirements ${reqLinks(c)}</div>`;
 o+=`<p>${esc(c.description)}</p>`;
 if(!cell){document.getElementById("detail").innerHTML=o;return}
 if(cell.reason)o+=`<div class="finding SKIP">${esc(cell.reason)}</div>`;
 cell.findings.forEach(f=>{o+=`<div class="finding ${f.level}"><b>${f.level}</b> ${esc(f.message)}${f.seq?` <span class="muted">(journal #${f.seq.join(", #")})</span>`:""}</div>`});
 cell.flows.forEach(fn=>{const fl=run.flows[fn];if(!fl)return;
  o+=`<h3 style="font-size:14px;margin:14px 0 2px">Scenario <code>${esc(fn)}</code> · <code>${esc(fl.fixture)}</code></h3><div class="muted">${esc(fl.description)}</div>`;
  ["skipped","aborted","error"].forEach(k=>{if(fl[k])o+=`<div class="finding WARN">${k}: ${esc(fl[k])}</div>`});
  const seqRange=([a,b])=>b-1<a?"":b-1===a?`journal #${a}`:`journal #${a}–${b-1}`;
  o+=`<table class="steps">`;fl.steps.forEach(s=>{const r=s.reply||{};
   const a=s.cmd==="control"?esc(s.args.action):esc(s.cmd)+" "+esc(JSON.stringify(s.args));
   o+=`<tr><td>${s.n}</td><td><b>${esc(s.label)}</b></td><td>${a}</td><td>${s.cmd==="control"?"":`<span class="${r.status==="ok"?"PASS":r.status==="skipped"?"SKIP":"WARN"}">${esc(r.status||"")} ${esc(r.kind||"")}</span>`}</td><td class="muted">${seqRange(s.journal_seq)}</td></tr>`;
   if(s.browser)o+=`<tr><td></td><td colspan="4"><pre>${esc(s.browser.log.join("\n"))}\n${esc(s.browser.authorize_urls.join("\n"))}</pre></td></tr>`});
  o+=`</table><details><summary>wire log: ${fl.wire_log.length} request(s)</summary>`;
  fl.wire_log.forEach(w=>{o+=`<details><summary>#${w.seq} ${esc(w.method)} ${esc(w.path)}${w.query?"?"+esc(w.query):""} → <b>${esc(w.status)}</b>${w.fault?" (fault)":""}${w.outcome?" · "+esc(JSON.stringify(w.outcome)):""}</summary>`+
   `<pre>${esc(Object.entries(w.headers||{}).map(([k,v])=>k+": "+v).join("\n"))}\n\n${esc(w.body)}</pre><pre>${esc(w.status)}\n${esc(Object.entries(w.response_headers||{}).map(([k,v])=>k+": "+v).join("\n"))}\n\n${esc(w.response_body)}</pre></details>`});
  o+=`</details>`});
 document.getElementById("detail").innerHTML=o}
const first=document.querySelector("td.cell span.FAIL,td.cell span.WARN")||document.querySelector("td.cell span");if(first)first.parentElement.click();
</script></body></html>
"""
