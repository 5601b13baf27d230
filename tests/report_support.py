"""Stored scans for report tests, written through the real Store and the real gate.

Renderers read only what the store keeps, so the fixtures go through `Store.begin_scan`,
`gate.judge` and `Store.finish_scan` exactly as `compliance scan` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from compliance.findings import Finding, Location, Severity, fingerprint
from compliance.gate import GateInput, judge
from compliance.policy import Policy, Waiver, WaiverEntry
from compliance.render.data import waiver_summary
from compliance.scanners.interface import ScanError
from compliance.store import ScanMeta, ScanOutcome, Store
from compliance.store.models import HostCheckRecord

TODAY = date(2026, 11, 24)

XSS_SCRIPT = "<script>window.__xss = 'script';alert(1)</script>"
XSS_IMG = '"><img src=x onerror="window.__xss=\'img\';alert(2)">'
XSS_JS_URL = "javascript:window.__xss='href';alert(3)"
XSS_COMMENT = "<!-- </script><script>window.__xss='breakout'</script>"


def code(
    rule: str,
    path: str,
    line: int,
    severity: Severity,
    *,
    scanner: str = "bandit",
    title: str | None = None,
    evidence: str = "",
    references: Sequence[str] = (),
    remediation: str = "",
    suppressed: bool = False,
    message: str = "",
) -> Finding:
    return Finding(
        scanner=scanner,
        rule_id=rule,
        severity=severity,
        title=title or f"{rule} in {path}",
        message=message or f"{scanner} {rule} flagged this line",
        location=Location(path=path, start_line=line, end_line=line),
        fingerprint=fingerprint(scanner, rule, path, evidence or str(line)),
        evidence=evidence,
        references=tuple(references),
        remediation=remediation,
        confidence=Severity.HIGH,
        suppressed=suppressed,
    )


def dependency(
    package: str, version: str, advisory: str, severity: Severity, fixes: Sequence[str]
) -> Finding:
    return Finding(
        scanner="pip-audit",
        rule_id=advisory,
        severity=severity,
        title=f"{package} {version} is vulnerable ({advisory})",
        message=f"{advisory} affects {package} {version}",
        location=Location(path="requirements.txt", package=package, version=version),
        fingerprint=fingerprint("pip-audit", advisory, package, version),
        evidence=f"{package}=={version}; fixed in {', '.join(fixes)}",
        references=(advisory, "CVE-2024-3651", "GHSA-jjg7-2v4v-x38h", "CWE-1333"),
        remediation=f"Upgrade {package} to {fixes[0]} or later.",
        fix_versions=tuple(fixes),
    )


def host_finding(
    host: str, check: str, severity: Severity, observed: str, refs: Sequence[str]
) -> Finding:
    return Finding(
        scanner="host",
        rule_id=check,
        severity=severity,
        title=f"{check} fails",
        message=f"{host} fails {check}",
        location=Location(host=host),
        fingerprint=fingerprint("host", check, host),
        evidence=observed,
        references=tuple(refs),
        remediation=f"Fix {check} on {host}",
    )


def record(
    store: Store,
    findings: Sequence[Finding],
    *,
    target: str = "shop/api",
    kind: str = "code",
    waivers: Sequence[WaiverEntry] = (),
    errors: Sequence[ScanError] = (),
    host_checks: Sequence[HostCheckRecord] = (),
    completed: Sequence[str] = ("bandit", "semgrep", "pip-audit", "host"),
    policy: Policy | None = None,
    store_waivers: bool = True,
) -> int:
    """One scan through the real gate and store, as `compliance scan` records it."""
    policy = policy or Policy()
    scan_id = store.begin_scan(
        ScanMeta(kind=kind, target=target, git_commit="0123456789abcdef", git_branch="main")
    )
    first_seen = store.first_seen(target, [f.fingerprint for f in findings])
    verdict = judge(
        GateInput(
            findings=findings,
            policy=policy,
            target=target,
            waivers=waivers,
            errors=errors,
            first_seen=first_seen,
            today=TODAY,
        )
    )
    store.finish_scan(
        scan_id,
        ScanOutcome(
            verdict=verdict,
            tool_versions={"bandit": "1.8.6", "semgrep": "1.139.0", "pip-audit": "2.9.0"},
            completed_scanners=list(completed),
            host_checks=list(host_checks),
            summary={
                **(
                    {"waivers": waiver_summary(waivers, verdict, target, TODAY)}
                    if store_waivers
                    else {}
                ),
                "root": "/src",
            },
        ),
    )
    return scan_id


def waiver(
    rule: str, expires: date, *, path: str | None = None, approver: str = "alice"
) -> WaiverEntry:
    return WaiverEntry(
        Waiver(
            rule=rule,
            path=path,
            reason="input is a constant; reviewed in MR !42",
            approver=approver,
            expires=expires,
        ),
        "policies/waivers.yml:3",
    )


def code_history(store: Store) -> int:
    """Three scans of one repository: something fixed, something new, waivers old and new.
    Returns the id of the last scan."""
    shell = code(
        "B602",
        "app/run.py",
        12,
        Severity.HIGH,
        title="subprocess call with shell=True",
        evidence="subprocess.call(cmd, shell=True)",
        references=(
            "CWE-78",
            "https://bandit.readthedocs.io/en/latest/plugins/b602_subprocess_popen_with_shell_equals_true.html",
        ),
        remediation="Pass a list of arguments and drop shell=True.",
    )
    md5 = code(
        "B324",
        "app/hash.py",
        4,
        Severity.MEDIUM,
        title="weak MD5 hash",
        evidence="hashlib.md5(data)",
        references=("CWE-327",),
    )
    sqli = code(
        "python.sqli",
        "app/db.py",
        30,
        Severity.CRITICAL,
        scanner="semgrep",
        title="SQL built from user input",
        evidence='cur.execute("SELECT * FROM t WHERE id=" + uid)',
        references=("CWE-89", "OWASP A03:2021"),
        remediation="Use query parameters.",
    )
    assert_ = code(
        "B101", "tests/test_app.py", 8, Severity.LOW, title="assert used", evidence="assert x"
    )
    nosec = code(
        "B105",
        "app/settings.py",
        2,
        Severity.LOW,
        title="hard-coded password",
        evidence="PASSWORD = 'x'  # nosec",
        suppressed=True,
    )
    yaml_load = code(
        "B506",
        "app/conf.py",
        9,
        Severity.MEDIUM,
        title="yaml.load without a safe loader",
        evidence="yaml.load(text)",
        references=("CWE-20",),
    )
    dep = dependency("idna", "3.6", "PYSEC-2024-60", Severity.HIGH, ["3.7"])
    record(store, [shell, md5, assert_, dep, yaml_load])
    record(
        store,
        [shell, md5, assert_, dep, yaml_load],
        waivers=[waiver("B101", date(2027, 1, 31), path="tests/**")],
    )
    return record(
        store,
        [shell, sqli, assert_, nosec, dep, yaml_load],
        waivers=[
            waiver("B101", date(2027, 1, 31), path="tests/**"),
            waiver("B506", date(2026, 10, 1), approver="bob"),  # expired: debt, blocks again
            waiver("B999", date(2027, 3, 1)),  # matches nothing
        ],
    )


CONTROLS = (
    (
        "ssh.root-login",
        "SSH root login disabled",
        ("CIS 5.2.10", "PCI-DSS 2.2.4"),
        "PermitRootLogin no",
    ),
    (
        "ssh.password-auth",
        "SSH password authentication disabled",
        ("CIS 5.2.12", "PCI-DSS 8.3.1"),
        "PasswordAuthentication no",
    ),
    ("kernel.aslr", "ASLR enabled", ("CIS 1.5.3",), "kernel.randomize_va_space = 2"),
    ("fs.tmp-noexec", "/tmp mounted noexec", ("CIS 1.1.2.4",), "noexec in /tmp options"),
    ("pkg.telnet", "telnet server not installed", ("CIS 2.2.18", "PCI-DSS 2.2.4"), "not installed"),
)


def control_check(
    host: str, control: tuple[str, str, Any, str], status: str, observed: str, **extra: Any
) -> HostCheckRecord:
    """One stored check of one of CONTROLS on a host (severity high)."""
    check_id, title, refs, expected = control
    return HostCheckRecord(
        scan_id=0,
        host=host,
        check_id=check_id,
        title=title,
        status=status,
        severity="high",
        expected=expected,
        observed=observed,
        references=list(refs),
        **extra,
    )


def fleet(store: Store, hosts: int = 6) -> int:
    """A host audit: some hosts pass everything, some fail, one control does not apply to
    one host, one check errors."""
    checks = []
    findings = []
    for h in range(hosts):
        host = f"web-{h:02d}.example.internal"
        for c, control in enumerate(CONTROLS):
            check_id, _, refs, expected = control
            status = "pass"
            observed = expected
            if (h + c) % 4 == 0 and h % 2 == 0:
                status, observed = "fail", f"{check_id.split('.')[-1]} yes"
            if h == 1 and c == 3:
                status, observed = "not-applicable", "no separate /tmp mount"
            if h == 3 and c == 4:
                status, observed = "error", "dpkg-query: timed out after 10 s"
            checks.append(
                control_check(
                    host,
                    control,
                    status,
                    observed,
                    remediation=f"Set {expected}",
                    policy="linux-baseline",
                )
            )
            if status == "fail":
                findings.append(host_finding(host, check_id, Severity.HIGH, observed, refs))
    return record(store, findings, target="fleet/prod", kind="hosts", host_checks=checks)


def hostile(store: Store) -> int:
    """A scan whose every text field carries HTML/JS payloads, code and hosts alike."""
    payloads = [XSS_SCRIPT, XSS_IMG, XSS_JS_URL, XSS_COMMENT]
    findings = []
    for i, p in enumerate(payloads):
        findings.append(
            Finding(
                scanner="semgrep",
                rule_id=f"rule{i}{p}",
                severity=Severity.HIGH,
                title=f"title {p}",
                message=f"message {p}",
                location=Location(path=f"src/{p}.py", start_line=i + 1),
                fingerprint=fingerprint("xss", str(i)),
                evidence=f"code = '{p}'",
                references=(p, XSS_JS_URL, "CWE-79"),
                remediation=f"fix {p}",
            )
        )
    findings.append(
        host_finding(f"host{XSS_IMG}", "ssh.root-login", Severity.HIGH, XSS_SCRIPT, ("CIS 5.2.10",))
    )
    checks = [
        HostCheckRecord(
            scan_id=0,
            host=f"host{XSS_IMG}",
            check_id=f"check{XSS_COMMENT}",
            title=XSS_SCRIPT,
            status="fail",
            expected=XSS_JS_URL,
            observed=XSS_SCRIPT,
            references=[XSS_JS_URL, "CIS 5.2.10"],
            remediation=XSS_IMG,
        ),
    ]
    return record(
        store,
        findings,
        target=f"evil{XSS_SCRIPT}",
        kind="hosts",
        host_checks=checks,
        errors=[ScanError("semgrep", "scanner.output", f"garbage {XSS_IMG}")],
    )
