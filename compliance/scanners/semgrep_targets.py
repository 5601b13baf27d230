"""What semgrep is handed for each file: its name, the folder it is read from, which rules.

Most files are read in place, by every rule their name selects (`semgrep_rules.py`). The
rest are read as copies (`views.py` says why each exists) from a temporary mirror folder:

- `copies/`: the file itself for every rule, when semgrep could not read it as it is (Python
  declaring a non-UTF-8 coding, decoded; other text that is not valid UTF-8, with U+FFFD
  for the bad bytes; a name that is not valid UTF-8, under its printable name);
- `python/`: a second, Python-only target `<path>.py` for Python whose name does not say so
  (a shebang script, a notebook's code cells); the file itself still goes to the other rules
  (a secret in a notebook's output is found in the `.ipynb`).

A file is scanned when every one of its targets came back scanned without an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compliance.scanners.interface import NotScanned, ScanError
from compliance.scanners.semgrep_rules import RuleSet
from compliance.scanners.views import (
    COPIES,
    PYTHON,
    SourceMap,
    View,
    ViewError,
    decode_python,
    is_utf8,
    notebook_code,
    python_kind,
    replaced_utf8,
)
from compliance.sources import display_path

TREE = "tree"


@dataclass(frozen=True)
class Target:
    group: str  # TREE, COPIES or PYTHON
    name: str  # what semgrep is given, relative to the group's folder
    path: str  # the file in the tree
    source_map: SourceMap | None = None

    @property
    def shown(self) -> str:
        return display_path(self.path)


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    notes: list[NotScanned] = field(default_factory=list)
    data: dict[tuple[str, str], bytes | None] = field(default_factory=dict)
    """What each copy holds, by (group, name); None: the file's own bytes."""

    def group(self, name: str) -> list[Target]:
        return [t for t in self.targets if t.group == name]

    def views(self) -> list[View]:
        """The copies to write into the mirror folder (`<group>/<name>`)."""
        return [
            View(t.path, f"{t.group}/{t.name}", self.data[t.group, t.name], t.source_map)
            for t in self.targets
            if t.group != TREE
        ]

    def add(self, target: Target, data: bytes | None = None) -> None:
        self.targets.append(target)
        if target.group != TREE:
            self.data[target.group, target.name] = data


def plan_targets(root: Path, files: Sequence[str], rules: RuleSet) -> Plan:
    plan = Plan()
    python_rules = rules.python_only()
    other_language: list[str] = []
    for path in files:
        shown = display_path(path)
        try:
            data = (root / path).read_bytes()
        except OSError as exc:
            plan.errors.append(
                _error(shown, f"cannot read the file: {exc.strerror or exc}", "check its rights")
            )
            continue
        kind = python_kind(root, path, head=data[:512])
        decoded: tuple[str, SourceMap] | None = None
        if kind in ("module", "script"):
            try:
                decoded = decode_python(data)
            except ViewError as exc:
                plan.errors.append(_error(shown, exc.reason, exc.hint))
        _whole_file(plan, rules, path, data, kind, decoded)
        if python_rules is None or kind not in ("notebook", "script"):
            continue
        if kind == "notebook":
            try:
                code = notebook_code(data)
            except ViewError as exc:
                plan.errors.append(_error(shown, exc.reason, exc.hint))
                continue
            if code is None:
                other_language.append(shown)
                continue
            payload, source_map = code[0].encode("utf-8"), code[1]
        elif decoded is not None:
            payload, source_map = decoded[0].encode("utf-8"), decoded[1]
        else:
            payload, source_map = (data if is_utf8(data) else replaced_utf8(data)), None
        alias = shown + ".py"
        lost = python_rules.lost_by_renaming(shown, alias, python=True)
        if lost:
            plan.errors.append(_renamed_error(shown, alias, lost))
        if python_rules.targets([alias]):
            plan.add(Target(PYTHON, alias, path, source_map), payload)
    if other_language:
        plan.notes.append(
            NotScanned("notebooks in a language other than Python", tuple(other_language))
        )
    return plan


def _whole_file(
    plan: Plan,
    rules: RuleSet,
    path: str,
    data: bytes,
    kind: str | None,
    decoded: tuple[str, SourceMap] | None,
) -> None:
    """The file itself, for every rule its name selects: in place, or as a readable copy."""
    shown = display_path(path)
    if not rules.targets([shown]):
        return
    if shown != path:
        lost = rules.lost_by_renaming(path, shown)
        if lost:
            plan.errors.append(_renamed_error(shown, shown, lost))
    if kind == "module" and decoded is not None:
        plan.add(Target(COPIES, shown, path, decoded[1]), decoded[0].encode("utf-8"))
    elif not is_utf8(data):
        plan.add(Target(COPIES, shown, path), replaced_utf8(data))
    elif shown != path:
        plan.add(Target(COPIES, shown, path), None)
    else:
        plan.add(Target(TREE, path, path))


def _error(path: str, reason: str, hint: str) -> ScanError:
    return ScanError("semgrep", "scanner.parse", reason, path=path, hint=hint)


def _renamed_error(path: str, alias: str, lost: list[str]) -> ScanError:
    return ScanError(
        "semgrep",
        "coverage",
        f"the file is read as {alias}, and the paths: filter of rule(s) {', '.join(lost[:5])} "
        "does not match that name",
        path=path,
        hint="widen the rule's paths: filter to the copy's name, or rename the file",
    )
