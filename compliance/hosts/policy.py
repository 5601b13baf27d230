"""Host policy files: checks that read like a benchmark document, validated with file:line.

Each check names its kind; the keys a kind needs sit beside the common ones (id, title,
severity, rationale, remediation, references, when, timeout) and are validated by that
kind's own parameter model, so a typo in `pattern:` points at its own line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compliance.findings import Severity
from compliance.hosts.checks import REGISTRY, Params
from compliance.hosts.conditions import Conditions
from compliance.policy.model import SeverityField
from compliance.policy.yaml_source import ConfigError, YamlDocument, load_yaml

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
COMMON = (
    "id",
    "title",
    "kind",
    "severity",
    "rationale",
    "remediation",
    "references",
    "when",
    "timeout",
)


class CheckMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID.pattern)
    title: str = Field(min_length=3)
    kind: str
    severity: SeverityField = Severity.MEDIUM
    rationale: str = ""
    remediation: str = ""
    references: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Control ids per framework, e.g. {cis-debian-12: ["5.1.20"], pci-dss-4.0: ["2.2.6"]}."""
    when: Conditions = Conditions()
    timeout: float | None = Field(default=None, gt=0, le=3600)


@dataclass(frozen=True)
class HostCheck:
    meta: CheckMeta
    params: Params
    budget: float

    @property
    def id(self) -> str:
        return self.meta.id

    def reference_list(self) -> tuple[str, ...]:
        return self._references

    @cached_property
    def _references(self) -> tuple[str, ...]:
        """Built once per check, not once per host and check result."""
        return tuple(
            f"{framework}:{item}"
            for framework, items in self.meta.references.items()
            for item in items
        )


class HostPolicyHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    timeout: float = Field(default=10.0, gt=0, le=3600)
    """Default time budget per check, seconds."""
    unreachable: Literal["error", "warn"] = "error"
    """warn: an unreachable host does not make the audit exit 2 (it is still reported)."""
    checks: list[Any]


@dataclass(frozen=True)
class HostPolicy:
    name: str
    path: Path
    digest: str
    description: str
    unreachable: str
    checks: tuple[HostCheck, ...]
    unsupported: tuple[str, ...] = ()
    """file:line problems of checks that cannot run (Wazuh files): each such check is an
    error on every host, the others run; `policy check-hosts` reports them (exit 2)."""


def load_host_policy(path: Path) -> HostPolicy:
    doc = load_yaml(path, what="host policy")
    data = doc.data
    from compliance.hosts.wazuh.loader import is_wazuh_policy, read_wazuh_policy

    if is_wazuh_policy(data):  # a Wazuh SCA file runs as it is (docs/wazuh.md)
        loaded = read_wazuh_policy(doc)
        return replace(loaded.policy, unsupported=loaded.unsupported)
    if not isinstance(data, dict):
        raise ConfigError([doc.problem((), "a host policy is a mapping with name: and checks:")])
    try:
        header = HostPolicyHeader.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(doc.validation_problems(exc)) from None
    problems: list[str] = []
    checks: list[HostCheck] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(header.checks):
        check = _check(doc, index, raw, header.timeout, problems)
        if check is None:
            continue
        if check.id in seen:
            problems.append(
                doc.problem(
                    ("checks", index, "id"),
                    f"duplicate check id {check.id!r} (first at checks[{seen[check.id]}])",
                )
            )
        seen[check.id] = index
        checks.append(check)
    if not checks and not problems:
        problems.append(doc.problem(("checks",), "the policy has no checks"))
    if problems:
        raise ConfigError(problems)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return HostPolicy(
        header.name, path.resolve(), digest, header.description, header.unreachable, tuple(checks)
    )


def _check(
    doc: YamlDocument, index: int, raw: Any, default_budget: float, problems: list[str]
) -> HostCheck | None:
    key = ("checks", index)
    if not isinstance(raw, dict):
        problems.append(doc.problem(key, "each check is a mapping (id, title, kind, …)"))
        return None
    common = {k: v for k, v in raw.items() if k in COMMON}
    rest = {k: v for k, v in raw.items() if k not in COMMON}
    try:
        meta = CheckMeta.model_validate(common)
    except ValidationError as exc:
        problems.extend(doc.validation_problems(exc, key))
        return None
    kind = REGISTRY.get(meta.kind)
    if kind is None:
        problems.append(
            doc.problem(
                (*key, "kind"),
                f"unknown check kind {meta.kind!r}; known: {', '.join(sorted(REGISTRY))}",
            )
        )
        return None
    try:
        params = kind.params.model_validate(rest)
    except ValidationError as exc:
        problems.extend(doc.validation_problems(exc, key))
        return None
    return HostCheck(meta, params, meta.timeout or default_budget)
