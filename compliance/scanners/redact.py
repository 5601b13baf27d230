"""Secrets never leave the scanner in clear text.

A finding of a secrets rule is stored, rendered and shipped as SARIF/JSON to places with
far weaker access control than the repository (CI logs, dashboards). So the secret itself
is replaced, wherever it would appear, by a form that lets a person recognise which key it
is without being able to use it: the first and last four characters. Short secrets reveal
less (a 10-character password keeping 8 would not be redacted at all).

"Wherever" is wider than the secret's own finding: the evidence of every other finding on
that line (two keys on one line, a `shell=True` call next to a password) quotes it too, and
so may a message. So scanners hand the secrets they matched to `redact_results`, which
hides each of them in every finding of its file, of every scanner, before anything is
judged, stored or printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from compliance.findings import Finding
from compliance.scanners.interface import ScannerResult, Secret

ELLIPSIS = "…"
WIDE = 6
"""A secret at least this long is hidden wherever its file's findings quote it. A shorter
one ("pw1") is hidden only in findings on its own lines, and only where it stands alone
(not inside a longer word): replacing every "pw1" of a file would mangle unrelated text."""
_CUT = re.compile(r"… \[\d+ more characters cut\]$")  # findings.bound_text's marker


def keep_of(secret: str) -> int:
    """How many characters the redacted form keeps at each end."""
    return 4 if len(secret) >= 16 else len(secret) // 6


def redacted(secret: str) -> str:
    keep = keep_of(secret)
    if keep == 0:
        return ELLIPSIS
    return secret[:keep] + ELLIPSIS + secret[-keep:]


def redact_in(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` redacted (and of each of its lines, for keys
    spanning several lines)."""
    if not secret:
        return text
    text = text.replace(secret, redacted(secret))
    for part in secret.splitlines():
        if len(part.strip()) >= WIDE:
            text = text.replace(part, redacted(part))
    return text


def redact_word(text: str, secret: str) -> str:
    """`text` with `secret` redacted where it is not part of a longer word: for short
    secrets, which as plain substrings would also hit unrelated text."""
    if not secret:
        return text
    pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(secret) + r"(?![A-Za-z0-9_])")
    return pattern.sub(lambda _: redacted(secret), text)


def redact_all(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret redacted, longest first (one may contain another). A text
    that `bound_text` cut may end in the first characters of a secret: those are hidden
    too, beyond what the redacted form itself shows."""
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    for secret in values:
        text = redact_in(text, secret) if len(secret) >= WIDE else redact_word(text, secret)
    cut = _CUT.search(text)
    if cut is not None:
        head, marker = text[: cut.start()], text[cut.start() :]
        for secret in values:
            for size in range(min(len(secret) - 1, len(head)), keep_of(secret), -1):
                if head.endswith(secret[:size]):
                    head = head[:-size] + ELLIPSIS
                    break
        text = head + marker
    return text


def redact_finding(finding: Finding, secrets: Sequence[Secret]) -> Finding:
    """The finding with every secret of its file hidden in its text fields: long ones
    anywhere, short ones when on the finding's lines (a finding without lines, e.g. of a
    whole file, counts as on every line)."""
    start = finding.location.start_line
    end = finding.location.end_line or start
    values = [
        s.value
        for s in secrets
        if len(s.value) >= WIDE
        or start is None
        or end is None
        or (s.start_line <= end and start <= s.end_line)
    ]
    if not values:
        return finding
    changed = replace(
        finding,
        title=redact_all(finding.title, values),
        message=redact_all(finding.message, values),
        evidence=redact_all(finding.evidence, values),
        remediation=redact_all(finding.remediation, values),
    )
    return finding if changed == finding else changed


def redact_results(results: Sequence[ScannerResult]) -> list[ScannerResult]:
    """Every result with the secrets all scanners matched hidden in all their findings, and
    the secrets themselves dropped: from here on nothing holds them."""
    by_path: dict[str, list[Secret]] = {}
    for result in results:
        for secret in result.secrets:
            by_path.setdefault(secret.path, []).append(secret)
    redacted_results = []
    for result in results:
        findings = tuple(
            redact_finding(f, by_path[f.location.path]) if f.location.path in by_path else f
            for f in result.findings
        )
        redacted_results.append(replace(result, findings=findings, secrets=()))
    return redacted_results
