"""Redaction across findings, bandit's password literals, and webhook URLs in errors."""

from __future__ import annotations

import pytest
import requests

from compliance.findings import Finding, Location, Severity, bound_text
from compliance.ops.notify import describe_failure, safe_origin
from compliance.scanners.interface import ScannerResult, Secret
from compliance.scanners.password_literals import (
    WITHHELD,
    LiteralIndex,
    checked_issue_text,
    parse,
    password_literals,
    quoted_literals,
    redacted_issue_text,
)
from compliance.scanners.redact import redact_all, redact_finding, redact_results


def finding(line: int | None, evidence: str, title: str = "t", path: str = "a.py") -> Finding:
    return Finding(
        scanner="bandit",
        rule_id="B602",
        severity=Severity.HIGH,
        title=title,
        message=title,
        location=Location(path=path, start_line=line, end_line=line),
        fingerprint="f",
        evidence=evidence,
    )


def test_every_secret_of_a_file_is_hidden_in_every_scanner_s_findings() -> None:
    line = 'a = "AKIAIOSFODNN7EXAMPLE"; b = "ghp_0123456789abcdefghij"'
    semgrep = ScannerResult(
        "semgrep",
        "1",
        findings=(finding(3, line),),
        secrets=(Secret("a.py", 3, 3, "AKIAIOSFODNN7EXAMPLE"),),
    )
    bandit = ScannerResult(
        "bandit",
        "1",
        findings=(finding(3, line), finding(3, line, path="other.py")),
        secrets=(Secret("a.py", 3, 3, "ghp_0123456789abcdefghij"),),
    )
    out = redact_results([semgrep, bandit])
    assert all(not r.secrets for r in out)
    for result in out:
        assert result.findings[0].evidence == 'a = "AKIA…MPLE"; b = "ghp_…ghij"'
    assert out[1].findings[1].evidence == line  # another file: its own secrets, not these
    only_secrets = ScannerResult("semgrep", "1", secrets=semgrep.secrets)
    assert "AKIA" not in repr(only_secrets)  # secrets never show in a result's repr


def test_a_short_secret_is_hidden_on_its_lines_only_and_only_as_a_word() -> None:
    secrets = [Secret("a.py", 2, 2, "pw1")]
    on_line = redact_finding(finding(2, 'login(password="pw1")', title="pw1x pw1"), secrets)
    assert on_line.evidence == 'login(password="…")'
    assert on_line.title == "pw1x …"
    elsewhere = finding(9, 'check("pw1")')
    assert redact_finding(elsewhere, secrets) is elsewhere
    whole_file = finding(None, 'check("pw1")')  # no line: counts as on every line
    assert redact_finding(whole_file, secrets).evidence == 'check("…")'


def test_a_long_secret_is_hidden_on_any_line_of_its_file() -> None:
    secrets = [Secret("a.py", 2, 2, "correcthorse")]
    assert redact_finding(finding(40, "use('correcthorse')"), secrets).evidence == "use('co…se')"


def test_a_secret_cut_by_the_evidence_bound_leaves_no_more_than_its_redacted_form() -> None:
    secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
    evidence = bound_text("x" * 1962 + secret, 2000)
    assert secret not in evidence and secret[:8] in evidence  # the cut kept a prefix
    hidden = redact_all(evidence, [secret])
    assert secret[:5] not in hidden
    assert hidden.endswith("more characters cut]")


@pytest.mark.parametrize(
    ("source", "line", "expected"),
    [
        (
            'x = dict(password="hunter2", token="s3cr3tvalue", user="bob")',
            1,
            ["hunter2", "s3cr3tvalue"],
        ),
        ('PASSWORD = "correcthorse"', 1, ["correcthorse"]),
        ('self.db_pass = "p1"', 1, ["p1"]),
        ('cfg["password"] = "p2"', 1, ["p2"]),
        ('d = {"password": "p3", "user": "bob"}', 1, ["p3"]),
        ('if password == "p4": pass', 1, ["p4"]),
        ('def f(user, password="p5", *, token="p6"): pass', 1, ["p5", "p6"]),
        ("f = lambda password='p7': password", 1, ["p7"]),
        ('x = 1\nPASSWORD = "p8"', 1, []),  # another line
    ],
)
def test_password_literals_follow_bandit_s_three_tests(
    source: str, line: int, expected: list[str]
) -> None:
    tree = parse(source.encode())
    assert tree is not None
    assert password_literals(tree, line, line) == expected


def test_the_literal_bandit_named_is_found_by_its_redacted_form() -> None:
    tree = parse(b'connect(hint="x", value="hunter2")\n')
    assert tree is not None
    assert password_literals(tree, 1, 1) == []  # names bandit's RE_CANDIDATES does not know
    assert password_literals(tree, 1, 1, reported="h…2") == ["hunter2"]


def test_bandit_issue_text_is_redacted_once_and_withheld_when_unknown() -> None:
    text = redacted_issue_text("Possible hardcoded password: 'hunter2'")
    assert text == "Possible hardcoded password: 'h…2'"
    assert checked_issue_text(text) == text  # from the cache: not redacted again
    assert checked_issue_text("Possible hardcoded password: 'hunter2'") == text
    assert redacted_issue_text("Hard-coded password hunter2 found") == WITHHELD
    assert quoted_literals("a = 'x\\'y'; b = \"z\"") == ["x\\'y", "z"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…"),
        ("http://127.0.0.1:9?token=SECRET", "http://127.0.0.1:9/…"),
        ("https://user:SECRET@chat.example.org/hook", "https://chat.example.org/…"),
        ("https://chat.example.org", "https://chat.example.org"),
    ],
)
def test_safe_origin_is_scheme_host_and_port(url: str, shown: str) -> None:
    assert safe_origin(url) == shown


def test_describe_failure_cuts_the_url_out_of_requests_errors() -> None:
    url = "http://127.0.0.1:9/hooks/T000/SECRET%20PATH?token=SECRETQUERY#SECRETFRAG"
    with pytest.raises(requests.RequestException) as caught:
        requests.post(url, timeout=2)
    text = describe_failure(caught.value, url)
    assert text.startswith("ConnectionError: ")
    assert "127.0.0.1" in text and "Connection refused" in text
    for part in ("SECRET", "hooks", "T000"):
        assert part not in text


def test_literal_index_limited_to_finding_lines_finds_what_the_whole_walk_finds():
    """LiteralIndex skips statements that touch none of the findings' lines (speed): on
    every line span it is asked about, it must answer exactly as the whole walk does,
    including a decorator above its function and defaults on a nested function's lines."""
    source = (
        b"import x\n"
        b"@x.auth(password='deco-secret')\n"  # 2: decorator, before the def's own line
        b"def outer(token='outer-secret'):\n"
        b"    def inner(pwd='inner-secret',\n"
        b"              passphrase='second-secret'):\n"  # 5
        b"        return {'password': 'dict-secret', 'x': 1}\n"
        b"    return inner\n"
        b"class C:\n"
        b"    secret = 'class-secret'\n"  # 9
        b"if x == 'not-a-secret': pass\n"
    )
    tree = parse(source)
    assert tree is not None
    spans = [(2, 2), (3, 3), (5, 5), (6, 6), (9, 9), (10, 10), (4, 5)]
    whole = LiteralIndex(tree)
    for span in spans:
        limited = LiteralIndex(tree, [span, (9, 9)])
        assert limited.on_lines(*span) == whole.on_lines(*span), span
    assert "deco-secret" in whole.on_lines(2, 2)
    assert LiteralIndex(tree, [(2, 2)]).on_lines(2, 2) == ["deco-secret"]
