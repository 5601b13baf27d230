"""Secrets never leave the scanner in clear text.

A finding of a secrets rule is stored, rendered and shipped as SARIF/JSON to places with
far weaker access control than the repository (CI logs, dashboards). So the secret itself
is replaced, wherever it would appear, by a form that lets a person recognise which key it
is without being able to use it: the first and last four characters. Short secrets reveal
less (a 10-character password keeping 8 would not be redacted at all).
"""

from __future__ import annotations

ELLIPSIS = "…"


def redacted(secret: str) -> str:
    keep = 4 if len(secret) >= 16 else len(secret) // 6
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
        if len(part.strip()) >= 6:
            text = text.replace(part, redacted(part))
    return text
