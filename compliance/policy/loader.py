"""Policy files in, a validated `Policy` out, or a ConfigError naming file:line per problem."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from compliance.paths import shipped_policy
from compliance.policy.model import ERROR_KINDS, Policy
from compliance.policy.yaml_source import ConfigError, YamlDocument, load_yaml

ERROR_KIND_PARENTS = {kind.rpartition(".")[0] for kind in ERROR_KINDS if "." in kind}


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    path: Path
    digest: str
    document: YamlDocument | None = field(default=None, compare=False, repr=False)
    """The file as read, so a later check can still name file:line."""

    @property
    def waivers_path(self) -> Path | None:
        if not self.policy.waivers:
            return None
        return (self.path.parent / self.policy.waivers).resolve()

    def problem(self, key: Sequence[str | int], message: str) -> str:
        """'file:line: key: message' for a key of this policy (the line of the nearest key
        the file writes; line 1 when it leaves the whole section to the defaults)."""
        if self.document is None:
            return f"{self.path}: {'.'.join(map(str, key))}: {message}"
        return self.document.problem(key, message)


def load_policy(path: Path | None, *, known_scanners: Collection[str] = ()) -> LoadedPolicy:
    """Load `path` (default: the shipped policies/default.yml)."""
    path = path or shipped_policy("default.yml")
    doc = load_yaml(path, what="policy file")
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError([doc.problem((), "a policy file must be a mapping of keys")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(doc.validation_problems(exc)) from None
    problems = []
    if known_scanners:
        for i, name in enumerate(policy.scanners):
            if name not in known_scanners:
                problems.append(
                    doc.problem(
                        ("scanners", i),
                        f"unknown scanner {name!r}; known: {', '.join(sorted(known_scanners))}",
                    )
                )
        for name in policy.per_scanner:
            if name not in known_scanners:
                problems.append(doc.problem(("per_scanner", name), f"unknown scanner {name!r}"))
    for kind in policy.errors:
        if kind not in ERROR_KINDS and kind not in ERROR_KIND_PARENTS:
            problems.append(
                doc.problem(
                    ("errors", kind),
                    f"unknown error class {kind!r}; known: {', '.join(ERROR_KINDS)}",
                )
            )
    if problems:
        raise ConfigError(problems)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedPolicy(policy, path.resolve(), digest, doc)
