"""YAML with line numbers, so every configuration error can name file:line and the key.

PyYAML's node graph carries positions; plain `safe_load` throws them away. We compose
nodes, build plain Python values and keep a map from key path to line. Duplicate keys,
which YAML silently lets the last one win, are an error here: in a security policy a
silently ignored line is a hole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from compliance.errors import UserError
from compliance.policy import yaml_limits

Key = tuple[str | int, ...]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when present: ~15x faster on large files (a 500 KB Wazuh CIS policy)."""


class ConfigError(UserError):
    """One or more problems in a configuration file, each as 'file:line: key: message'."""

    def __init__(self, problems: Sequence[str], hint: str = ""):
        super().__init__(list(problems), hint)


@dataclass
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Key, int] = field(default_factory=dict)

    def line_of(self, key: Sequence[str | int]) -> int:
        """Line of the deepest existing prefix of `key` (1-based)."""
        probe: Key = tuple(key)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def problem(self, key: Sequence[str | int], message: str) -> str:
        dotted = ".".join(_printable(part) for part in key) or "(top level)"
        return f"{self.path}:{self.line_of(key)}: {dotted}: {message}"

    def validation_problems(self, error: ValidationError, prefix: Key = ()) -> list[str]:
        problems = []
        for item in error.errors():
            loc = prefix + tuple(part for part in item["loc"] if not _is_pydantic_tag(part))
            problems.append(self.problem(loc, _friendly(item)))
        return problems


def _printable(part: str | int) -> str:
    """A key as written, quoted when it holds a newline or other control character, so a
    problem stays one line at the terminal."""
    text = str(part)
    return text if text.isprintable() else repr(text)


def _is_pydantic_tag(part: Any) -> bool:
    # pydantic adds tags such as 'function-after[...]' or 'literal[...]' to loc for unions
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _friendly(item: Any) -> str:
    message = str(item.get("msg", "invalid value"))
    if item.get("type") == "extra_forbidden":
        return "unknown key (check the spelling; see the comments in policies/default.yml)"
    if item.get("type") == "missing":
        return "required key is missing"
    value = item.get("input")
    if value is not None and not isinstance(value, dict | list):
        return f"{message} (got {value!r})"
    return message


def load_yaml(path: Path, *, what: str = "file") -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: {what} not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read {what}: {exc}"]) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """The document's values and lines; a document that would expand beyond
    yaml_limits' bounds (recursive aliases, "billion laughs") is a problem at its line."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{path}:{line}: not valid YAML: {problem}"]) from None
    except RecursionError:  # PyYAML's Python composer, when libyaml is not installed
        raise ConfigError([f"{path}: not valid YAML: nested too deeply"]) from None
    doc = YamlDocument(path, None)
    if node is None:
        return doc
    try:
        yaml_limits.check(node, text)
    except yaml_limits.LimitError as exc:
        raise ConfigError([f"{path}:{exc.line}: {exc.message}"]) from None
    problems: list[str] = []
    doc.data = _Builder(doc, problems).build(node, ())
    if problems:
        raise ConfigError(problems)
    return doc


class _Builder:
    def __init__(self, doc: YamlDocument, problems: list[str]):
        self.doc = doc
        self.problems = problems
        self.scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, key: Key) -> Any:
        doc = self.doc
        doc.lines.setdefault(key, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, key)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, key)

    def _scalar(self, node: yaml.Node, key: Key) -> Any:
        """A scalar's value; an unknown tag (`!foo`) or an impossible date is a problem."""
        try:
            return self.scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            dotted = ".".join(map(str, key)) or "(top level)"
            self.problems.append(
                f"{self.doc.path}:{node.start_mark.line + 1}: {dotted}: cannot read value: {reason}"
            )
            return None

    def _mapping(self, node: yaml.MappingNode, key: Key) -> dict[Any, Any]:
        doc = self.doc
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(f"{doc.path}:{line}: keys must be plain scalars")
                continue
            name = self._scalar(key_node, key)
            if not isinstance(name, str | int):
                name = str(name)
            path = (*key, name)
            if name in result:
                self.problems.append(
                    f"{doc.path}:{line}: {'.'.join(map(str, path))}: duplicate key "
                    f"(the first is on line {doc.lines[path]})"
                )
                continue
            doc.lines[path] = line
            result[name] = self.build(value_node, path)
        return result
