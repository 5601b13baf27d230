from compliance.findings import (
    EVIDENCE_LIMIT,
    Finding,
    Location,
    Severity,
    code_fingerprints,
    normalise_code,
)


def test_severity_is_ordered_and_parsed_case_insensitively():
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert Severity.parse("High") is Severity.HIGH
    assert Severity.parse(Severity.LOW) is Severity.LOW


def test_unknown_severity_names_the_choices():
    try:
        Severity.parse("severe")
    except ValueError as exc:
        assert "critical, high, medium, low, info" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_fingerprint_ignores_indentation_but_not_code():
    a, b, c = code_fingerprints(
        [
            ("bandit", "B602", "app.py", "call(x, shell=True)"),
            ("bandit", "B602", "other.py", "    call(x,   shell=True)"),
            ("bandit", "B602", "app.py", "call(y, shell=True)"),
        ]
    )
    assert len({a, b, c}) == 3
    (d,) = code_fingerprints([("bandit", "B602", "other.py", "call(x, shell=True)")])
    assert d == b
    assert normalise_code("  a\n\tb  ") == "a b"


def test_identical_code_twice_in_a_file_gets_two_stable_identities():
    keys = [("bandit", "B602", "app.py", "call(x, shell=True)")] * 2
    first, second = code_fingerprints(keys)
    assert first != second
    assert code_fingerprints(keys) == [first, second]


def test_evidence_is_bounded_and_says_so():
    f = Finding(
        scanner="host",
        rule_id="r",
        severity=Severity.LOW,
        title="t",
        message="m",
        location=Location(host="h"),
        fingerprint="f",
        evidence="x" * (EVIDENCE_LIMIT * 3),
    )
    assert len(f.evidence) == EVIDENCE_LIMIT
    assert "more characters cut" in f.evidence


def test_location_display():
    assert Location(path="a.py", start_line=3).display() == "a.py:3"
    assert Location(package="pyyaml", version="5.3").display() == "pyyaml==5.3"
    assert Location(host="web1").display() == "web1"
