"""Every machine-readable format, rendered from scans stored through the real Store and gate,
checked against its official schema (when ../shared is present) and our own structural
schema (always), plus the promises each format makes beyond its schema."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.findings import Location, Severity
from compliance.render import rows
from compliance.render.data import ReportData, load_report
from compliance.render.html import HOST_STATUSES, embed_json
from compliance.render.options import DEFAULT_GITLAB_SCHEMA, RenderError, RenderOptions
from compliance.render.outputs import parse_output
from compliance.render.registry import FORMATS
from compliance.store import Store
from tests import report_schemas
from tests import report_support as rs


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("reports") / "store.db"
    store = Store.open(str(path))
    return {
        "db": str(path),
        "store": store,
        "code": rs.code_history(store),
        "fleet": rs.fleet(store),
        "hostile": rs.hostile(store),
    }


def report(stored: dict[str, Any], which: str) -> ReportData:
    return load_report(stored["store"], stored[which])


def rendered(stored: dict[str, Any], which: str, fmt: str, **options: str) -> str:
    return FORMATS[fmt].render(report(stored, which), RenderOptions(**options))


SCANS = ["code", "fleet", "hostile"]


@pytest.mark.parametrize("which", SCANS)
@pytest.mark.parametrize("fmt", list(report_schemas.MINIMAL))
def test_format_passes_our_structural_schema(stored, which, fmt):
    document = json.loads(rendered(stored, which, fmt))
    assert report_schemas.errors(report_schemas.MINIMAL[fmt], document) == []


@pytest.mark.parametrize("which", SCANS)
@pytest.mark.parametrize("fmt", list(report_schemas.OFFICIAL))
def test_format_passes_its_official_schema(stored, which, fmt):
    official = report_schemas.official_schema(fmt)
    if official is None:
        pytest.skip(f"official {fmt} schema not present in ../shared/schemas")
    document = json.loads(rendered(stored, which, fmt))
    assert report_schemas.errors(official, document) == []


def test_sarif_rules_fingerprints_and_suppressions(stored):
    data = report(stored, "code")
    log = json.loads(rendered(stored, "code", "sarif"))
    results = {
        r["partialFingerprints"]["complianceFingerprint/v1"]: (run, r)
        for run in log["runs"]
        for r in run["results"]
    }
    assert set(results) == {f.fingerprint for f in data.findings}
    for f in data.findings:
        run, result = results[f.fingerprint]
        rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
        assert rule["id"] == result["ruleId"] == f.rule_id
        assert rule["help"]["text"]
        if f.status == "waived":
            assert result["suppressions"][0]["kind"] == "external"
            assert "alice" in result["suppressions"][0]["justification"]
        elif f.status == "suppressed":
            assert result["suppressions"][0]["kind"] == "inSource"
        else:
            assert "suppressions" not in result
        assert result["baselineState"] == ("new" if data.is_new(f) else "unchanged")
    b602 = next(
        rule
        for run in log["runs"]
        for rule in run["tool"]["driver"]["rules"]
        if rule["id"] == "B602"
    )
    assert "external/cwe/cwe-78" in b602["properties"]["tags"]
    assert b602["helpUri"].startswith("https://bandit.readthedocs.io/")
    assert b602["properties"]["security-severity"] == "8.0"
    bandit = next(run for run in log["runs"] if run["tool"]["driver"]["name"] == "bandit")
    assert bandit["tool"]["driver"]["version"] == "1.8.6"


def test_sarif_reports_scanner_errors_as_failed_invocations(stored):
    log = json.loads(rendered(stored, "hostile", "sarif"))
    semgrep = next(run for run in log["runs"] if run["tool"]["driver"]["name"] == "semgrep")
    invocation = semgrep["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "garbage" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_gitlab_sast_envelope_tracking_and_identifiers(stored, monkeypatch):
    data = report(stored, "code")
    document = json.loads(rendered(stored, "code", "gitlab-sast"))
    assert document["version"] == DEFAULT_GITLAB_SCHEMA and DEFAULT_GITLAB_SCHEMA.startswith(
        "15.1."
    )
    assert f"/v{DEFAULT_GITLAB_SCHEMA}/" in document["schema"]
    for key in ("start_time", "end_time"):
        assert not document["scan"][key].endswith("Z")
    code = [
        f for f in data.findings if f.path and not f.package and f.status in ("open", "preexisting")
    ]
    vulns = document["vulnerabilities"]
    assert len(vulns) == len(code) and len({v["id"] for v in vulns}) == len(vulns)
    signatures = {v["tracking"]["items"][0]["signatures"][0]["value"] for v in vulns}
    assert signatures == {f.fingerprint for f in code}
    sqli = next(v for v in vulns if v["identifiers"][0]["value"] == "python.sqli")
    assert sqli["severity"] == "Critical"
    assert {
        "type": "cwe",
        "name": "CWE-89",
        "value": "89",
        "url": "https://cwe.mitre.org/data/definitions/89.html",
    } in sqli["identifiers"]
    assert all(i.get("name") != "OWASP A03:2021" for i in sqli["identifiers"])  # no URL we trust
    # Waived and inline-suppressed findings are not sent to GitLab as open vulnerabilities.
    assert all(v["identifiers"][0]["value"] not in ("B101", "B105") for v in vulns)

    monkeypatch.setenv("COMPLIANCE_GITLAB_SCHEMA_VERSION", "15.0.7")
    assert RenderOptions.from_env().gitlab_schema_version == "15.0.7"
    assert RenderOptions.from_env("15.1.0").gitlab_schema_version == "15.1.0"
    with pytest.raises(RenderError, match=r"MAJOR\.MINOR\.PATCH"):
        RenderOptions.from_env("15.1")


def test_gitlab_dependency_scanning_names_package_and_advisories(stored):
    document = json.loads(
        rendered(stored, "code", "gitlab-dependency-scanning", gitlab_schema_version="15.1.2")
    )
    assert document["version"] == "15.1.2" and document["scan"]["type"] == "dependency_scanning"
    (vuln,) = document["vulnerabilities"]
    assert vuln["location"] == {
        "file": "requirements.txt",
        "dependency": {"package": {"name": "idna"}, "version": "3.6"},
    }
    ids = {i["type"]: i for i in vuln["identifiers"]}
    assert ids["pip-audit_id"]["value"] == "PYSEC-2024-60"
    assert ids["pip-audit_id"]["url"] == "https://osv.dev/vulnerability/PYSEC-2024-60"
    assert ids["cve"]["url"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-3651"
    assert ids["ghsa"]["url"] == "https://github.com/advisories/GHSA-jjg7-2v4v-x38h"
    assert "3.7" in vuln["solution"]


def test_gitlab_reports_never_link_hostile_urls(stored):
    for fmt in ("gitlab-sast", "sarif"):
        document = json.loads(rendered(stored, "hostile", fmt))
        urls = _all_values(document, {"url", "helpUri"})
        assert urls and all(u.startswith(("https://", "http://")) for u in urls)


def _all_values(node: Any, keys: set[str]) -> list[str]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys and isinstance(v, str):
                found.append(v)
            found.extend(_all_values(v, keys))
    elif isinstance(node, list):
        for v in node:
            found.extend(_all_values(v, keys))
    return found


def test_codequality_unique_fingerprints_and_repo_relative_paths(tmp_path):
    store = Store.open(str(tmp_path / "cq.db"))
    same = rs.code("B602", "/src/app/abs.py", 3, Severity.HIGH, evidence="os.system(x)")
    twin = replace(same, location=Location(path="./app/abs.py", start_line=9))
    scan_id = rs.record(
        store, [same, twin, rs.dependency("idna", "3.6", "PYSEC-2024-60", Severity.HIGH, ["3.7"])]
    )
    issues = json.loads(FORMATS["codequality"].render(load_report(store, scan_id), RenderOptions()))
    assert report_schemas.errors(report_schemas.MINIMAL["codequality"], issues) == []
    assert len(issues) == 3
    assert len({i["fingerprint"] for i in issues}) == 3
    paths = sorted(i["location"]["path"] for i in issues)
    assert paths == ["app/abs.py", "app/abs.py", "requirements.txt"]
    assert {i["severity"] for i in issues} == {"critical"}


def test_junit_structure(stored):
    for which in SCANS:
        root = ET.fromstring(rendered(stored, which, "junit").encode())
        _check_junit(root)
    code = ET.fromstring(rendered(stored, "code", "junit").encode())
    cases = {c.get("name"): c for c in code.iter("testcase")}
    assert cases["B602: subprocess call with shell=True"].find("failure") is not None
    assert cases["B101: assert used"].find("failure") is None  # waived: listed, not failed
    assert "waived" in cases["B101: assert used"].findtext("system-out")
    assert cases["verdict for shop/api"].find("failure") is not None
    assert cases["bandit ran to completion"].find("error") is None

    fleet = ET.fromstring(rendered(stored, "fleet", "junit").encode())
    hosts = next(s for s in fleet.iter("testsuite") if s.get("name") == "hosts")
    assert int(hosts.get("tests")) == 6 * len(rs.CONTROLS)
    by = {(c.get("classname"), c.get("name").split(":")[0]): c for c in hosts.iter("testcase")}
    failed = by[("hosts.web-00.example.internal", "ssh.root-login")].find("failure")
    assert failed is not None and "expected: PermitRootLogin no" in failed.text
    assert by[("hosts.web-01.example.internal", "fs.tmp-noexec")].find("skipped") is not None
    assert by[("hosts.web-03.example.internal", "pkg.telnet")].find("error") is not None

    hostile = ET.fromstring(rendered(stored, "hostile", "junit").encode())
    semgrep = next(s for s in hostile.iter("testsuite") if s.get("name") == "semgrep")
    assert semgrep.find("testcase/error") is not None  # the scanner error is visible


def _check_junit(root: ET.Element) -> None:
    """The structure GitLab's JUnit parser relies on, with consistent counts."""
    assert root.tag == "testsuites"
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root.findall("testsuite"):
        assert suite.get("name")
        cases = suite.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for key, value in counted.items():
            assert int(suite.get(key)) == value, (suite.get("name"), key)
            totals[key] += value
        for case in cases:
            assert case.get("name") and case.get("classname")
            outcomes = [c for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(outcomes) <= 1
            for outcome in outcomes:
                assert outcome.get("message") is not None
    for key, value in totals.items():
        assert int(root.get(key)) == value


def test_json_report_shape_new_fixed_and_waivers(stored):
    document = json.loads(rendered(stored, "code", "json"))
    assert document["format"] == "compliance-report" and document["format_version"] == 1
    assert document["scan"]["id"] == stored["code"] and document["scan"]["verdict"] == "fail"
    assert document["previous_scan_id"] == stored["code"] - 1
    new = {f["rule_id"] for f in document["findings"] if f["new"]}
    assert new == {"python.sqli", "B105"}
    assert [f["rule_id"] for f in document["fixed"]] == ["B324"]
    assert document["fixed"][0]["status"] == "fixed"
    states = {w["what"]: w for w in document["waivers"]}
    assert (
        states["B101 on tests/**"]["state"] == "active"
        and states["B101 on tests/**"]["findings"] == 1
    )
    assert states["B506"]["state"] == "expired" and states["B506"]["approver"] == "bob"
    assert states["B999"]["state"] == "unused"
    assert [p["scan_id"] for p in document["trend"]] == [
        stored["code"] - 2,
        stored["code"] - 1,
        stored["code"],
    ]
    assert document["trend"][-1]["open_by_severity"]["critical"] == 1
    finding_keys = {
        "fingerprint",
        "scanner",
        "rule_id",
        "severity",
        "path",
        "line",
        "status",
        "blocking",
        "references",
        "evidence",
        "remediation",
        "new",
    }
    assert all(finding_keys <= set(f) for f in document["findings"])

    fleet = json.loads(rendered(stored, "fleet", "json"))
    assert len(fleet["host_checks"]) == 6 * len(rs.CONTROLS)
    assert {c["status"] for c in fleet["host_checks"]} == {
        "pass",
        "fail",
        "not-applicable",
        "error",
    }


def test_html_escapes_everything_and_loads_nothing_external(stored):
    html = rendered(stored, "hostile", "html")
    for payload in ("<script>window.__xss", "<img src=x", "<!-- </script>", 'href="javascript:'):
        assert payload not in html
    assert "&lt;script&gt;window.__xss" in html  # shown, as text
    assert html.count("<script") == 2  # the JSON block and our own script, nothing else
    assert not re.search(r"<(link|iframe|object|embed|img)\b", html)
    assert not re.search(r"<[a-zA-Z][^<>]*\ssrc\s*=", html)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "default-src 'none'" in unescape(csp.group(1))


@given(st.text())
def test_embedded_json_cannot_close_its_script(text):
    embedded = embed_json({"k": text, "x": [text, "</script><!--"]})
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert json.loads(embedded) == {"k": text, "x": [text, "</script><!--"]}


def test_output_specs():
    assert parse_output("html").path == Path("reports/compliance-report.html")
    assert parse_output("sarif:out/x.sarif").path == Path("out/x.sarif")
    assert parse_output("json:-").path is None
    with pytest.raises(RenderError, match="unknown report format 'pdf'; use one of: html"):
        parse_output("pdf:x.pdf")
    with pytest.raises(RenderError, match="empty"):
        parse_output("sarif:")


def test_structural_schemas_reject_what_consumers_reject(stored):
    """The minimal schemas are not vacuous: each catches a mistake GitLab or SARIF rejects."""
    sast = json.loads(rendered(stored, "code", "gitlab-sast"))
    sast["scan"]["start_time"] += "Z"
    sast["vulnerabilities"][0]["identifiers"][0]["url"] = "javascript:alert(1)"
    sast["vulnerabilities"][0]["location"]["file"] = "/abs/path.py"
    problems = report_schemas.errors(report_schemas.MINIMAL["gitlab-sast"], sast)
    assert len(problems) == 3
    issues = json.loads(rendered(stored, "code", "codequality"))
    issues[0]["location"]["path"] = "/src/app/run.py"
    del issues[1]["fingerprint"]
    assert len(report_schemas.errors(report_schemas.MINIMAL["codequality"], issues)) == 2
    log = json.loads(rendered(stored, "code", "sarif"))
    del log["runs"][0]["results"][0]["partialFingerprints"]
    assert report_schemas.errors(report_schemas.MINIMAL["sarif"], log)


def test_waivers_rebuilt_from_notes_when_the_scan_stored_none(tmp_path):
    """Scans stored without the waiver list still show who approved what, and the debt."""
    store = Store.open(str(tmp_path / "w.db"))
    b101 = rs.code("B101", "tests/test_x.py", 3, Severity.LOW, evidence="assert x")
    b506 = rs.code("B506", "app/conf.py", 9, Severity.MEDIUM, evidence="yaml.load(t)")
    scan_id = rs.record(
        store,
        [b101, b506],
        waivers=[
            rs.waiver("B101", date(2027, 1, 31), path="tests/**"),
            rs.waiver("B506", date(2026, 10, 1), approver="bob"),
        ],
        store_waivers=False,
    )
    views = {w.state: w for w in load_report(store, scan_id).waivers}
    assert views["active"].what == "B101" and views["active"].approver == "alice"
    assert views["active"].expires == "2027-01-31" and views["active"].findings == 1
    assert views["expired"].expires == "2026-10-01" and views["expired"].source.endswith(":3")


def _score_table(html: str, heading: str) -> dict[str, tuple[list[int], str]]:
    """Rows of a score table in the HTML report: name → (the number cells, the score)."""
    table = html.split(f"<h3>{heading}", 1)[1].split("</table>", 1)[0]
    result = {}
    for row in re.findall(r"<tr><td>(.*?)</tr>", table, re.S):
        name = row.split("</td>", 1)[0]
        cells = re.findall(r'<td class="num">(\d+)</td>', row)
        score = re.search(r'<span class="score">([^<]+)</span>', row)
        assert score, row
        result[unescape(name)] = ([int(c) for c in cells], score.group(1))
    return result


def test_html_scores_per_framework_and_host_count_unaudited_checks_against(tmp_path):
    """Scores shown in the fleet view agree with the stored checks (read back through the
    JSON report and counted here), and a host that could not be reached scores 0 %, not
    'n/a': an unaudited host must not look better than an audited one."""
    store = Store.open(str(tmp_path / "fleet.db"))
    checks = []
    for h, host in enumerate(["good.example", "bad.example", "down.example"]):
        for c, control in enumerate(rs.CONTROLS):
            status = "not-run" if h == 2 else "fail" if h == 1 and c % 2 == 0 else "pass"
            if h == 0 and c == 3:
                status = "not-applicable"
            observed = "connection refused" if status == "not-run" else control[3]
            checks.append(rs.control_check(host, control, status, observed))
    scan_id = rs.record(store, [], target="fleet/scores", kind="hosts", host_checks=checks)
    stored_checks = json.loads(FORMATS["json"].render(load_report(store, scan_id), RenderOptions()))
    counted: dict[str, dict[str, int]] = {}
    controls: dict[str, set[str]] = {}
    failing: dict[str, set[str]] = {}
    for check in stored_checks["host_checks"]:
        names = {r.split(" ")[0] for r in check["references"]} | {"host " + check["host"]}
        for name in names:
            counted.setdefault(name, dict.fromkeys(HOST_STATUSES, 0))[check["status"]] += 1
        for ref in check["references"]:
            name = ref.split(" ")[0]
            controls.setdefault(name, set()).add(ref)
            if check["status"] in ("fail", "error", "not-run"):
                failing.setdefault(name, set()).add(ref)

    def expected_score(counts: dict[str, int]) -> str:
        applicable = sum(counts[s] for s in ("pass", "fail", "error", "not-run"))
        return f"{round(100 * counts['pass'] / applicable)}%" if applicable else "n/a"

    html = FORMATS["html"].render(load_report(store, scan_id), RenderOptions())
    frameworks = _score_table(html, "Compliance score per framework")
    assert set(frameworks) == {"CIS", "PCI-DSS"}
    for name, (cells, score) in frameworks.items():
        c = counted[name]
        # controls (distinct framework ids) and results (per host and check) in their own columns
        assert cells[:2] == [len(controls[name]), len(failing.get(name, ()))]
        assert cells[2:] == [c["pass"], c["fail"], c["error"] + c["not-run"], c["not-applicable"]]
        assert score == expected_score(c)
    hosts = _score_table(html, "Compliance score per host")
    assert next(iter(hosts)) == "down.example"  # worst first
    assert hosts["down.example"][1] == "0%"
    for name, (_cells, score) in hosts.items():
        assert score == expected_score(counted["host " + name])


def test_html_lists_new_and_fixed_since_the_previous_scan(stored):
    html = rendered(stored, "code", "html")
    section = html.split('<section id="changes">', 1)[1].split("</section>", 1)[0]
    assert f"Compared with scan {stored['code'] - 1} of" in section
    new, fixed = section.split("<h3>Fixed", 1)
    assert "<h3>New (2)</h3>" in new and "python.sqli" in new and "B105" in new
    assert "B324" not in new and "B602" not in new
    assert fixed.startswith(" (1)</h3>") and "bandit B324" in fixed


def test_findings_stream_in_chunks_on_both_backends(store_url, monkeypatch):
    """Formats read findings from the store a chunk at a time (a server-side cursor on
    PostgreSQL). With two rows per chunk every format still sees each reported finding
    once, worst first, and 'new' (computed by the database) is the same on both."""
    monkeypatch.setattr(rows, "STREAM_ROWS", 2)
    store = Store.open(store_url)
    scan_id = rs.code_history(store)
    data = load_report(store, scan_id)
    wanted = [r.fingerprint for r in store.findings(scan_id) if r.reported or r.blocking]
    assert len(wanted) > 2 * rows.STREAM_ROWS and len(data.findings) == len(wanted)
    document = json.loads(FORMATS["json"].render(data, RenderOptions()))
    assert [f["fingerprint"] for f in document["findings"]] == wanted
    assert {f["rule_id"] for f in document["findings"] if f["new"]} == {"python.sqli", "B105"}
    log = json.loads(FORMATS["sarif"].render(data, RenderOptions()))
    results = [r["partialFingerprints"] for run in log["runs"] for r in run["results"]]
    assert sorted(p["complianceFingerprint/v1"] for p in results) == sorted(wanted)
    for fmt in report_schemas.MINIMAL:
        rendered_doc = json.loads(FORMATS[fmt].render(data, RenderOptions()))
        assert report_schemas.errors(report_schemas.MINIMAL[fmt], rendered_doc) == []
    assert "python.sqli" in FORMATS["junit"].render(data, RenderOptions())
    assert "python.sqli" in FORMATS["html"].render(data, RenderOptions())


def test_no_history_is_said_only_when_the_database_holds_no_earlier_scan(stored, monkeypatch):
    """A report of a target's only scan says why it has no trend: in CI on SQLite, the
    template's per-job database ("single-pipeline"); elsewhere, a first scan."""
    monkeypatch.delenv("CI", raising=False)
    assert report(stored, "code").no_history is None  # three scans of shop/api
    assert report(stored, "fleet").no_history == (
        "no history: the first scan of this target in this database"
    )
    monkeypatch.setenv("CI", "true")
    note = report(stored, "fleet").no_history
    assert note is not None and note.startswith("no history: single-pipeline database (")
    assert "COMPLIANCE_DB" in note
    document = json.loads(rendered(stored, "fleet", "json"))
    assert document["no_history"] == note and len(document["trend"]) == 1
    html = rendered(stored, "fleet", "html")
    assert "Trend: one scan only" in html and '<svg class="trend"' not in html
    assert json.loads(rendered(stored, "code", "json"))["no_history"] is None


def test_shipped_compiled_report_template_is_current():
    """compliance/render/report_template.py is the template compiled when the gate was
    built; a stale one is not used (the page stays right), but the speed-up is lost."""
    import jinja2

    from compliance.render import report_template
    from compliance.render.report_template_build import fingerprint, template_source

    assert fingerprint(template_source()) == report_template.SOURCE_SHA256, (
        "stale: run `python -m compliance.render.report_template_build`"
    )
    assert jinja2.__version__ == report_template.JINJA_VERSION


@pytest.mark.parametrize("which", SCANS)
def test_shipped_template_renders_as_the_template_file(stored, which, monkeypatch):
    from compliance.render import report_template_build

    shipped = rendered(stored, which, "html")
    monkeypatch.setattr(report_template_build, "_shipped", lambda: None)
    assert rendered(stored, which, "html") == shipped


def test_stale_shipped_template_is_not_used(stored, monkeypatch):
    from compliance.render import report_template_build
    from compliance.render.html import environment

    assert str(report_template_build.load(environment()).filename).endswith("report_template.py")
    monkeypatch.setattr(report_template_build, "template_source", lambda: "edited since")
    stale = report_template_build.load(environment())  # compiled from the file instead
    assert str(stale.filename).endswith("report.html.j2")
