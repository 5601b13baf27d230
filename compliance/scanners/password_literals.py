"""Where the hard-coded passwords of bandit's B105, B106 and B107 sit in the source.

Bandit puts the password into the finding's text ("Possible hardcoded password: 'hunter2'")
and its line into our evidence, and it reports only the first password-like argument of a
call: `dict(password="hunter2", token="s3cr3tvalue")` is one finding naming "hunter2", with
"s3cr3tvalue" on the same line. To hide them all, the string literals on a finding's lines
are read from the file's syntax tree, with bandit's own notion of a password-like name
(its RE_CANDIDATES), in every place those three tests look: assignments, dict keys,
subscripts, comparisons, keyword arguments and argument defaults. The literal bandit named
is added even where this reading would not find it (matched by value, or by its redacted
form when the text came from the result cache, where it is stored redacted).
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterator, Sequence

from compliance.scanners.redact import ELLIPSIS, redacted

PASSWORD_RULES = frozenset({"B105", "B106", "B107"})
_WORDS = "(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)"
CANDIDATE = re.compile(f"(^{_WORDS}$|_{_WORDS}_|^{_WORDS}_|_{_WORDS}$)", re.IGNORECASE)
"""bandit.plugins.general_hardcoded_password.RE_CANDIDATES."""
_TEXT = re.compile(r"Possible hardcoded password: '(.*)'", re.DOTALL)
_QUOTED = re.compile(r"""(['"])((?:\\.|(?!\1).)*)\1""")
WITHHELD = "Possible hardcoded password (value withheld)"


def reported_value(issue_text: str) -> str | None:
    """The password bandit quoted in its issue text (clear, or already redacted)."""
    match = _TEXT.fullmatch(issue_text.strip())
    return match.group(1) if match else None


def redacted_issue_text(issue_text: str) -> str:
    """Bandit's issue text with the password redacted; withheld entirely when the text is
    not in the shape we know (a future bandit wording must not leak)."""
    value = reported_value(issue_text)
    if value is None:
        return WITHHELD
    return f"Possible hardcoded password: '{redacted(value)}'"


def checked_issue_text(issue_text: str) -> str:
    """An issue text that `redacted_issue_text` made (fresh, or from the cache) as it is;
    anything else redacted now, so that no path around it can leak."""
    value = reported_value(issue_text)
    if issue_text == WITHHELD or (value is not None and ELLIPSIS in value):
        return issue_text.strip()
    return redacted_issue_text(issue_text)


def parse(source: bytes) -> ast.Module | None:
    """The file's syntax tree, decoded as Python decodes it; None when it will not parse."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def password_literals(
    tree: ast.Module, start: int, end: int, reported: str | None = None
) -> list[str]:
    """The password-like string literals on lines start..end, plus the one bandit named."""
    return LiteralIndex(tree).on_lines(start, end, reported)


class LiteralIndex:
    """A file's password candidates and string literals with their line spans, built by one
    walk of its syntax tree: a file with a hundred B105 findings was walked a hundred times
    (5 s of a warm scan of the standard library)."""

    def __init__(self, tree: ast.Module, lines: Sequence[tuple[int, int]] | None = None):
        """`lines`: the only line spans `on_lines` will be asked about (None: any). Statements
        wholly outside them are not walked: a warm scan of the standard library spent a
        tenth of its time walking whole files for a few findings each."""
        self._entries: list[tuple[int, int, tuple[str, ...], str | None]] = []
        for node in _walk(tree, lines):
            first = getattr(node, "lineno", None)
            if first is None:
                continue
            last = getattr(node, "end_lineno", None) or first
            found = tuple(_candidates(node))
            text = (
                node.value
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                else None
            )
            if found or text is not None:
                self._entries.append((first, last, found, text))

    def on_lines(self, start: int, end: int, reported: str | None = None) -> list[str]:
        found: list[str] = []
        for first, last, candidates, text in self._entries:
            if not (first <= end and start <= last):
                continue
            found.extend(candidates)
            if reported is not None and text is not None and reported in (text, redacted(text)):
                found.append(text)
        if reported is not None and ELLIPSIS not in reported:
            found.append(reported)
        return list(dict.fromkeys(v for v in found if v))


def _walk(tree: ast.Module, lines: Sequence[tuple[int, int]] | None) -> Iterator[ast.AST]:
    """`ast.walk` (the same order), without the statements that touch none of `lines`.

    Only statements are skipped: every node inside a statement lies within the statement's
    lines, counted from its first decorator, so nothing on a wanted line is lost."""
    if lines is None:
        yield from ast.walk(tree)
        return
    todo: deque[ast.AST] = deque([tree])
    while todo:
        node = todo.popleft()
        if isinstance(node, ast.stmt):
            decorators = getattr(node, "decorator_list", None) or []
            first = min([node.lineno, *(d.lineno for d in decorators)])
            last = max(node.end_lineno or node.lineno, node.lineno)
            if not any(start <= last and first <= end for start, end in lines):
                continue
        todo.extend(ast.iter_child_nodes(node))
        yield node


def quoted_literals(code: str) -> list[str]:
    """Every quoted text in `code`: the fallback when the file's syntax tree is unavailable."""
    return list(dict.fromkeys(m.group(2) for m in _QUOTED.finditer(code) if m.group(2)))


def _candidates(node: ast.AST) -> Iterator[str]:
    """The literals bandit's three tests would name at this node (all, not the first)."""
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(_password_target(t) for t in targets):
            yield from _text(node.value)
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if _password_name(key):
                yield from _text(value)
    elif isinstance(node, ast.Compare):
        if _password_name(node.left):
            for comparator in node.comparators:
                yield from _text(comparator)
    elif isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg and CANDIDATE.search(keyword.arg):
                yield from _text(keyword.value)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=False)
        )
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        for arg, default in pairs:
            if CANDIDATE.search(arg.arg):
                yield from _text(default)


def _password_target(target: ast.AST) -> bool:
    if isinstance(target, ast.Subscript):
        return _password_name(target.slice)
    return _password_name(target)


def _password_name(node: ast.AST | None) -> bool:
    """A name, attribute or string key that looks like a password's."""
    if isinstance(node, ast.Name):
        return bool(CANDIDATE.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(CANDIDATE.search(node.attr))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(CANDIDATE.search(node.value))
    return False


def _text(node: ast.AST | None) -> Iterator[str]:
    """The literal's text as bandit prints it (`f"'{value}'"`): any constant but None."""
    if isinstance(node, ast.Constant) and node.value is not None:
        yield str(node.value)
