"""Add one waiver to a waiver file, keeping what reviewers wrote in it.

A waiver file is reviewed in merge requests: its comments, quoting, indentation and order
are part of that review, so we edit it with a round-trip YAML library (ruamel.yaml) instead
of loading and re-dumping it. The result is written beside the file and read back with
`load_waivers` (the reader the gate uses) before it replaces the original, so a failed
append never leaves a broken or half-written file behind.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from compliance.paths import new_file_mode
from compliance.policy.waivers import Waiver, load_waivers
from compliance.policy.yaml_source import ConfigError

HEADER = (
    "# Waivers: reviewed exceptions to the policy. Each needs a reason, an approver\n"
    "# and an expiry date; expired waivers stop applying. Managed by `compliance waive`.\n"
)
_PLAIN = yaml.resolver.Resolver()


def append_waiver(path: Path, waiver: Waiver) -> None:
    """Append `waiver` to the `waivers:` list of `path` (created when missing).

    Raises ConfigError, leaving the file as it was, when the file cannot be read or edited,
    or when the edited text would not read back with the new waiver last.
    """
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    before = load_waivers(path)  # refuse to edit a file that is already broken
    text = _appended(path, original, _item(waiver))
    _replace_checked(path, text, waiver, len(before) + 1)


def _appended(path: Path, original: str, item: CommentedMap) -> str:
    try:
        _, indent, offset = load_yaml_guess_indent(original)
        yml = _round_trip(indent, offset)
        data = yml.load(original)
    except YAMLError as exc:
        raise ConfigError([f"{path}: cannot edit the waiver file: {exc}"]) from None
    if data is None:  # missing, empty, or only comments: keep them, start the list below
        prefix = original or HEADER
        if not prefix.endswith("\n"):
            prefix += "\n"
        return prefix + _dump(_round_trip(None, None), CommentedMap(waivers=CommentedSeq([item])))
    if not isinstance(data, CommentedMap):
        raise ConfigError([f"{path}: expected a mapping with a 'waivers:' list"])
    waivers = data.get("waivers")
    if waivers is None:
        data["waivers"] = CommentedSeq([item])
    else:
        if len(waivers) == 0:
            waivers.fa.set_block_style()  # `waivers: []`, as shipped: grow it as a block
        elif isinstance(waivers[-1], CommentedMap):
            _move_trailing_comment(waivers[-1], item)
        waivers.append(item)
    return _dump(yml, data)


def _item(waiver: Waiver) -> CommentedMap:
    """The waiver as a mapping, each string quoted where PyYAML (YAML 1.1, which the gate
    reads with) would take it for something else: `reason: yes` is a boolean there."""
    item = CommentedMap()
    for key, value in waiver.model_dump(exclude_none=True).items():
        item[key] = _scalar(value)
    return item


def _scalar(value: Any) -> Any:
    if isinstance(value, str):
        tag = _PLAIN.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        if tag != "tag:yaml.org,2002:str" or value != value.strip() or not value.isprintable():
            return DoubleQuotedScalarString(value)
    return value


def _move_trailing_comment(previous: CommentedMap, item: CommentedMap) -> None:
    """ruamel keeps a comment below the last waiver (a file's closing notes) on that waiver's
    last value, so it would end up between the old and the new waiver. The part after the
    value's own line moves under the new one; a comment on the value's line stays."""
    if not previous:
        return
    slot = previous.ca.items.get(list(previous)[-1])
    token = slot[2] if slot and len(slot) > 2 else None
    if not isinstance(token, CommentToken):
        return
    head, newline, tail = token.value.partition("\n")
    if not tail:
        return
    token.value = head + newline
    item.ca.items[list(item)[-1]] = [None, None, CommentToken("\n" + tail, CommentMark(0)), None]


def _round_trip(indent: int | None, offset: int | None) -> YAML:
    """A round-trip reader and writer that keeps quotes and the file's indentation."""
    yml = YAML()
    yml.preserve_quotes = True
    yml.width = 4096  # never fold a long reason onto several lines
    if indent is None:
        yml.indent(mapping=2, sequence=4, offset=2)  # the layout of README's examples
    else:
        offset = offset or 0
        yml.indent(mapping=max(indent - offset, 2), sequence=indent, offset=offset)
    return yml


def _dump(yml: YAML, data: Any) -> str:
    out = io.StringIO()
    yml.dump(data, out)
    return out.getvalue()


def _replace_checked(path: Path, text: str, waiver: Waiver, count: int) -> None:
    """Write `text` next to `path`, read it back as the gate would, then move it in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            entries = load_waivers(temp)
        except ConfigError as exc:
            raise ConfigError(
                [f"{path}: the edited file would not read back, left unchanged: {exc.problems[0]}"]
            ) from None
        if len(entries) != count or entries[-1].waiver != waiver:
            raise ConfigError([f"{path}: the appended waiver did not read back; file unchanged"])
        os.chmod(temp, path.stat().st_mode & 0o7777 if path.exists() else new_file_mode())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
