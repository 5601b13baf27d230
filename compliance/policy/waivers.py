"""Waivers: reviewed, expiring exceptions kept in YAML beside the policy or in the repository.

A waiver names either one finding (its fingerprint) or a rule on a path glob. It carries
who approved it, why, and until when: an expired waiver stops waiving, and the gate says
that it expired instead of quietly failing. Which waivers a scan may use, and the rules a
repository's own waivers must follow, are in `scan_waivers.py` and `waiver_rules.py`;
`waiver_append.py` adds one to a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from compliance.findings import Finding
from compliance.globs import matches
from compliance.policy.model import Strict
from compliance.policy.yaml_source import ConfigError, load_yaml


class Waiver(Strict):
    fingerprint: str | None = None
    rule: str | None = None
    path: str | None = Field(default=None, description="glob on the repo-relative path")
    scanner: str | None = None
    host: str | None = None
    package: str | None = None
    scope: str | None = Field(default=None, description="only for scans of this target")
    reason: str = Field(min_length=3)
    approver: str = Field(min_length=1)
    expires: date
    created: date | None = None
    requested_by: str | None = None
    """Who asked for it (`compliance waive` records it): never the approver."""

    @model_validator(mode="after")
    def _names_something(self) -> Waiver:
        if not self.fingerprint and not self.rule:
            raise ValueError("a waiver needs a fingerprint, or a rule (with an optional path)")
        return self

    def matches(self, finding: Finding, target: str) -> bool:
        if self.scope and self.scope != target:
            return False
        if self.fingerprint and self.fingerprint != finding.fingerprint:
            return False
        if self.rule and self.rule != finding.rule_id:
            return False
        if self.scanner and self.scanner != finding.scanner:
            return False
        if self.host and self.host != finding.location.host:
            return False
        if self.package and self.package != finding.location.package:
            return False
        if self.path:
            path = finding.location.path
            if path is None or not matches(self.path, path):
                return False
        return True

    def expired(self, today: date) -> bool:
        return self.expires < today

    def describe(self) -> str:
        what = self.fingerprint or f"{self.rule}{' on ' + self.path if self.path else ''}"
        return f"{what} (approved by {self.approver}, expires {self.expires.isoformat()})"


@dataclass(frozen=True)
class WaiverEntry:
    waiver: Waiver
    source: str  # file:line, so an unused or expired waiver can be found and removed


def load_waivers(path: Path | None) -> list[WaiverEntry]:
    """Waivers from `path`; a missing file means no waivers, a broken one is an error."""
    if path is None or not path.exists():
        return []
    doc = load_yaml(path, what="waiver file")
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("waivers", []), list):
        raise ConfigError([doc.problem((), "expected a mapping with a 'waivers:' list")])
    extra = set(doc.data) - {"waivers"}
    if extra:
        raise ConfigError([doc.problem((key,), "unknown key") for key in sorted(extra)])
    entries, problems = [], []
    for i, item in enumerate(doc.data.get("waivers") or []):
        try:
            waiver = Waiver.model_validate(item)
        except ValidationError as exc:
            problems.extend(doc.validation_problems(exc, prefix=("waivers", i)))
            continue
        entries.append(WaiverEntry(waiver, f"{path}:{doc.line_of(('waivers', i))}"))
    if problems:
        raise ConfigError(problems)
    return entries
