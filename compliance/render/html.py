"""`html`: one self-contained report file for people (developer, security lead, auditor).

The page must open from a CI artifact with no network: CSS and JS are inlined, there are no
fonts or images to fetch, and a Content-Security-Policy allows nothing external and only
our own script (by hash), so even a payload that slipped past escaping could not run.

Scale: findings travel as compact column arrays in one JSON block and the table is drawn a
page at a time from them, so 100k findings cost megabytes of JSON, not 100k table rows.
Everything from the store is escaped: Jinja autoescape for markup, `textContent` in the
script, and `<`, `>`, `&` escaped inside the JSON block so `</script>` and `<!--` in a
finding cannot end it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import IO, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from compliance.findings import Severity
from compliance.render.common import iso_z, location_text
from compliance.render.data import ReportData, TrendPoint
from compliance.render.dependencies import dependency_rows
from compliance.render.options import RenderOptions
from compliance.render.references import Reference, frameworks, parse_references
from compliance.render.report_template_build import load as load_template
from compliance.render.rows import StoredFinding
from compliance.store.models import HostCheckRecord, ScanRecord

MAX_BLOCKING_CARDS = 50
MAX_CHANGES_LISTED = 100
SEVERITIES = [s.label for s in sorted(Severity, reverse=True)]
MAX_DEPENDENCY_ROWS = 2000
HOST_STATUSES = ("pass", "fail", "not-applicable", "error", "not-run")


def write(report: ReportData, options: RenderOptions, out: IO[str]) -> None:
    """The page needs every finding at once (sorted, interned into column arrays), so this
    format, unlike the others, holds the scan's findings in memory while it renders."""
    findings = list(report.findings)
    css = _asset("report.css")
    js = _asset("report.js")
    csp = (
        "default-src 'none'; "
        f"script-src '{_sha256(js)}'; style-src '{_sha256(css)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    data_json = Markup(embed_json(_client_data(report, findings)))  # noqa: S704 - escaped
    view = _view(report, findings)
    del findings
    template = load_template(environment())
    for chunk in template.generate(
        r=view,
        data_json=data_json,
        css=Markup(css),  # noqa: S704 - our own packaged file
        js=Markup(js),  # noqa: S704 - our own packaged file
        csp=csp,
    ):
        out.write(chunk)


def embed_json(value: Any) -> str:
    """JSON safe inside <script type="application/json">: no `</script>`, no `<!--`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@cache
def environment() -> Environment:
    """Made once per process. No bytecode cache on disk: Jinja's unmarshals code from
    its folder, so whoever could write that folder (a cache planted in a checkout) would
    run code in the gate. The page template ships compiled instead (report_template_build)."""
    return Environment(
        loader=PackageLoader("compliance.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> str:
    return (files("compliance.render") / "templates" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


# --- server-rendered parts ----------------------------------------------------------------


@dataclass
class _Score:
    name: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def applicable(self) -> int:
        """Checks that count towards the score. One that errored or never ran (host
        unreachable) counts against it: an unaudited host must not score better."""
        c = self.counts
        return c["pass"] + c["fail"] + c["error"] + c["not-run"]

    @property
    def percent(self) -> int | None:
        if not self.applicable:
            return None
        return round(100 * self.counts["pass"] / self.applicable)

    @property
    def wazuh(self) -> int | None:
        """Wazuh's score: passed / (passed + failed); what the host gate's minimums read."""
        judged = self.counts["pass"] + self.counts["fail"]
        return round(100 * self.counts["pass"] / judged) if judged else None


def _view(report: ReportData, findings: list[StoredFinding]) -> dict[str, Any]:
    scan = report.scan
    open_findings = [f for f in findings if f.status == "open"]
    by_scanner: dict[str, Counter[str]] = defaultdict(Counter)
    for f in open_findings:
        by_scanner[f.scanner][f.severity] += 1
    blocking = [f for f in findings if f.blocking]
    # a first scan has nothing to compare with: listing every finding as "new" repeats
    # the whole table, so the page says so instead
    first = report.no_history is not None
    new = [] if first else [f for f in findings if report.is_new(f)]
    verdict = scan.verdict or "error"
    errors = list(scan.errors or [])
    return {
        "scan": scan,
        "scan_id": report.scan_id,
        "started": iso_z(scan.started_at),
        "finished": iso_z(scan.finished_at) if scan.finished_at else None,
        "generated": iso_z(report.generated_at),
        "version": report.version,
        "verdict": verdict,
        "question": _question(verdict, len(blocking), scan, len(open_findings)),
        "reasons": _reasons(list(scan.reasons or []), len(errors)),
        "errors": errors,
        "severities": SEVERITIES,
        "open_by_severity": Counter(f.severity for f in open_findings),
        "all_by_status": Counter(f.status for f in findings),
        "by_scanner": dict(sorted(by_scanner.items())),
        "total": len(findings),
        "blocking": [_card(f) for f in blocking[:MAX_BLOCKING_CARDS]],
        "blocking_total": len(blocking),
        "previous": report.previous,
        "first": first,
        "no_history": report.no_history,
        "new": [_card(f) for f in new[:MAX_CHANGES_LISTED]],
        "new_total": len(new),
        "fixed": [_card(f) for f in report.fixed[:MAX_CHANGES_LISTED]],
        "fixed_total": len(report.fixed),
        "trend": _trend_chart(report.trend) if len(report.trend) > 1 else None,
        "trend_points": len(report.trend),
        "waivers": sorted(
            report.waivers, key=lambda w: ({"expired": 0}.get(w.state, 1), w.expires)
        ),
        "debt": [w for w in report.waivers if w.state == "expired"],
        "overdue": sum(1 for f in findings if "overdue" in (f.note or "")),
        "fleet": _fleet(report.host_checks) if report.host_checks else None,
        "repository_config": (scan.summary or {}).get("repository_config") or {},
        "dependencies": _dependencies(report, findings),
    }


def _dependencies(report: ReportData, findings: list[StoredFinding]) -> dict[str, Any]:
    """The dependency section: vulnerable components first, then the rest of the inventory
    (bounded: a 10k-package monorepo must not make a 50 MB page; the SBOM has them all)."""
    rows = dependency_rows(report, findings)
    rows.sort(key=lambda r: (not r.advisories, r.manifest, r.name))
    return {
        "total": len(rows),
        "vulnerable": sum(1 for r in rows if r.advisories),
        "manifests": ((report.scan.summary or {}).get("dependencies") or {}).get("manifests") or [],
        "rows": [
            {
                "name": r.name,
                "version": r.version or "(unpinned)",
                "manifest": r.manifest,
                "kind": "direct" if r.direct else "transitive",
                "via": ", ".join(r.via),
                "advisories": [(f.rule_id, f.severity) for f in r.advisories],
                "fix": r.fix or ("no fixed version known" if r.advisories else ""),
            }
            for r in rows[:MAX_DEPENDENCY_ROWS]
        ],
    }


def _question(verdict: str, blocking: int, scan: ScanRecord, open_count: int = 0) -> str:
    """The banner's question. It speaks of a merge only for a scan stored from a merge
    request pipeline ($CI_MERGE_REQUEST_IID at scan time): a branch, tag or local scan is
    not a merge, and diff-aware mode alone (`--baseline`) is not one either."""
    if scan.kind == "hosts":
        subject = "this fleet meet the policy"
    elif (scan.summary or {}).get("merge_request"):
        subject = f"merge request !{scan.summary['merge_request']} be merged"
    else:
        subject = "this code meet the policy"
    if verdict == "pass" and open_count and scan.kind == "hosts":
        # failed checks the host gate lets pass: never "nothing violates the policy"
        return f"May {subject}? Yes: nothing blocks, but {open_count} failed check(s) do not."
    if verdict == "pass":
        return f"May {subject}? Yes: nothing violates the policy."
    if verdict == "fail":
        return f"May {subject}? No: {blocking} finding(s) block."
    return f"May {subject}? Unknown: the gate could not decide, so it blocks."


def _reasons(reasons: list[str], errors: int) -> list[str]:
    """The verdict's reasons with each "could not decide: <error>" folded into one line:
    the errors are listed in full once, right under the banner."""
    kept = [r for r in reasons if not r.startswith("could not decide: ")]
    if errors and len(kept) < len(reasons):
        kept.insert(0, f"could not decide: {len(reasons) - len(kept)} problem(s), listed below")
    return kept if errors else reasons


def _card(f: StoredFinding) -> dict[str, Any]:
    return {
        "f": f,
        "where": location_text(f),
        "refs": parse_references(f.references),
    }


def _trend_chart(points: list[TrendPoint]) -> dict[str, Any] | None:
    if not points:
        return None
    width, height, top, bottom, left = 720, 190, 12, 40, 44
    plot_h = height - top - bottom
    peak = max(max(sum(p.open_by_severity.values()) for p in points), 1)
    step = (width - left - 8) / max(len(points), 1)
    bar_w = min(max(step * 0.7, 2), 36)
    bars = []
    for i, p in enumerate(points):
        x = left + i * step + (step - bar_w) / 2
        y = float(top + plot_h)
        segments = []
        for sev in reversed(SEVERITIES):  # info at the bottom, critical on top
            n = p.open_by_severity.get(sev, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            segments.append({"sev": sev, "y": round(y, 1), "h": round(h, 1), "n": n})
        total = sum(p.open_by_severity.values())
        bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "segments": segments,
                "p": p,
                "total": total,
                "label": f"scan {p.scan_id} ({iso_z(p.started_at)[:10]}): {total} open, "
                f"{p.blocking} blocking, verdict {p.verdict or p.status}",
            }
        )
    return {
        "width": width,
        "height": height,
        "base": top + plot_h,
        "top": top,
        "left": left,
        "peak": peak,
        "bars": bars,
        "first": points[0],
        "last": points[-1],
    }


def _fleet(checks: list[HostCheckRecord]) -> dict[str, Any]:
    hosts: dict[str, _Score] = {}
    frames: dict[str, _Score] = {}
    policies: dict[str, _Score] = {}
    controls: dict[str, set[str]] = defaultdict(set)
    failing_controls: dict[str, set[str]] = defaultdict(set)
    for c in checks:
        hosts.setdefault(c.host, _Score(c.host)).counts[c.status] += 1
        policies.setdefault(c.policy, _Score(c.policy)).counts[c.status] += 1
        for name, control in frameworks(c.references).items():
            frames.setdefault(name, _Score(name)).counts[c.status] += 1
            controls[name].add(control)
            if c.status in ("fail", "error", "not-run"):
                failing_controls[name].add(control)
    ordered = sorted(
        hosts.values(), key=lambda s: (s.percent if s.percent is not None else 101, s.name)
    )
    failing = sum(1 for s in ordered if s.counts["fail"] or s.counts["error"])
    return {
        "hosts": ordered,
        "frameworks": sorted(frames.values(), key=lambda s: s.name),
        "policies": sorted(policies.values(), key=lambda s: s.name),
        # controls are framework ids (CIS 5.2.10); results are one per host and check, counted apart
        "controls": {name: len(ids) for name, ids in controls.items()},
        "failing_controls": {name: len(failing_controls[name]) for name in controls},
        "failing": failing,
        "statuses": HOST_STATUSES,
    }


# --- data for the script ------------------------------------------------------------------


class _Strings:
    """One table of distinct strings; columns hold indexes. Paths, rules and titles repeat
    thousands of times at scale, so this is most of what keeps 100k findings small."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, value: str | None) -> int:
        if value is None:
            return -1
        return self.index.setdefault(value, len(self.index))

    def column(self, values: list[str | None]) -> list[int]:
        """Intern a whole column: one C-level dict call per value, no Python call."""
        index, add = self.index, self.index.setdefault
        return [-1 if v is None else add(v, len(index)) for v in values]

    @property
    def table(self) -> list[str]:
        return list(self.index)  # dicts keep insertion order: position = index


def _client_data(report: ReportData, findings: list[StoredFinding]) -> dict[str, Any]:
    s = _Strings()
    refsets: dict[tuple[str, ...], int] = {}
    refset_rows: list[list[list[str | None]]] = []
    for f in findings:
        key = tuple(f.references)
        if key not in refsets:
            refsets[key] = len(refset_rows)
            refset_rows.append([[r.id, r.url, r.kind] for r in parse_references(key)])

    ordered = sorted(
        findings,
        key=lambda f: (
            not f.blocking,
            -f.severity_rank,
            f.path or f.package or f.host or "",
            f.start_line or 0,
        ),
    )
    new = report.new_fingerprints if report.no_history is None else frozenset()
    cols: dict[str, list[Any]] = {
        "sc": s.column([f.scanner for f in ordered]),
        "ru": s.column([f.rule_id for f in ordered]),
        "sv": [f.severity_rank for f in ordered],
        "st": s.column([f.status for f in ordered]),
        "bl": [1 if f.blocking else 0 for f in ordered],
        "ti": s.column([f.title for f in ordered]),
        "me": s.column([f.message if f.message != f.title else "" for f in ordered]),
        "pa": s.column([f.path for f in ordered]),
        "ln": [f.start_line or 0 for f in ordered],
        "ho": s.column([f.host for f in ordered]),
        "pk": s.column([f.package for f in ordered]),
        "ve": s.column([f.version for f in ordered]),
        "fx": s.column([", ".join(f.fix_versions) if f.fix_versions else None for f in ordered]),
        "ev": s.column([f.evidence for f in ordered]),
        "fp": [f.fingerprint for f in ordered],
        "no": s.column([f.note for f in ordered]),
        "rf": [refsets[tuple(f.references)] for f in ordered],
        "re": s.column([f.remediation for f in ordered]),
        "fs": s.column([_day(f.first_seen_at) for f in ordered]),
        "du": s.column([f.due_date.isoformat() if f.due_date else None for f in ordered]),
        "nw": [1 if f.fingerprint in new else 0 for f in ordered],
    }
    # Most findings of a rule share everything but location, evidence and fingerprint:
    # one table of distinct "profiles" and one index column replace fourteen columns.
    profiles: dict[tuple[int, ...], int] = {}
    keyed = zip(*(cols.pop(k) for k in PROFILE_COLUMNS), strict=True)
    cols["pr"] = [profiles.setdefault(key, len(profiles)) for key in keyed]
    fleet = _matrix(report.host_checks, s) if report.host_checks else None
    return {
        "severities": list(reversed(SEVERITIES)),  # index = severity rank
        "strings": s.table,
        "refsets": refset_rows,
        "profileColumns": PROFILE_COLUMNS,
        "profiles": list(profiles),
        "findings": cols,
        "fleet": fleet,
    }


PROFILE_COLUMNS = (
    "sc",
    "ru",
    "sv",
    "st",
    "bl",
    "ti",
    "me",
    "re",
    "rf",
    "no",
    "fs",
    "du",
    "fx",
    "nw",
)


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _matrix(checks: list[HostCheckRecord], s: _Strings) -> dict[str, Any]:
    hosts = sorted({c.host for c in checks})
    score: Counter[str] = Counter()
    for c in checks:
        if c.status in ("fail", "error"):
            score[c.host] += 1
    hosts.sort(key=lambda h: (-score[h], h))  # worst hosts first
    controls: dict[str, HostCheckRecord] = {}
    for c in sorted(checks, key=lambda c: c.check_id):
        controls.setdefault(c.check_id, c)
    control_ids = list(controls)
    host_index = {h: i for i, h in enumerate(hosts)}
    control_index = {c: i for i, c in enumerate(control_ids)}
    size = len(hosts) * len(control_ids)
    status = [-1] * size
    expected = [-1] * size
    observed = [-1] * size
    for c in checks:
        at = host_index[c.host] * len(control_ids) + control_index[c.check_id]
        status[at] = HOST_STATUSES.index(c.status) if c.status in HOST_STATUSES else 3
        expected[at] = s(c.expected)
        observed[at] = s(c.observed)
    return {
        "statuses": list(HOST_STATUSES),
        "hosts": hosts,
        "controls": [
            {
                "id": cid,
                "title": controls[cid].title,
                "severity": controls[cid].severity,
                "refs": [[r.id, r.url] for r in _refs(controls[cid].references)],
                "remediation": controls[cid].remediation,
            }
            for cid in control_ids
        ],
        "status": status,
        "expected": expected,
        "observed": observed,
    }


def _refs(values: list[str] | None) -> list[Reference]:
    return parse_references(values)
