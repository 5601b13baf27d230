"""Text from the scanned tree, the hosts or the store, made safe to print at a terminal.

File names, rule messages, titles, host output and error reasons can hold whatever their
author likes, and the terminal would obey it: a newline in a file name (`a\\nverdict: PASS
(exit 0)\\n.py`) prints a forged verdict line, `\\r` overwrites the line it is on, an ANSI
escape (`\\x1b[2K`, `\\x1b[8m`) erases or hides text, a bidi control (U+202E) shows text
in another order than it is read. Every line the CLI prints goes through `terminal_safe`,
which writes such characters as visible escapes, so what a person reads is what is there
and a line the gate prints is one line.

Escaped: control characters (C0, DEL, C1), format characters (bidi controls, zero-width
characters), line and paragraph separators, and lone surrogates (file names that are not
valid UTF-8, decoded with surrogateescape: shown as the byte, `\\xff`). Backslashes are left
as they are: a name holding a literal `\\n` reads the same as an escaped newline, but stays
one line, which is what matters.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def terminal_safe(text: str) -> str:
    """`text` with every character that could move the cursor, restyle, hide or reorder
    text written as a visible escape."""
    if text.isprintable():  # the common case, in C: nothing to do
        return text
    return "".join(_escape(c) if _dangerous(c) else c for c in text)


def terminal_lines(text: str) -> str:
    """Several lines the gate itself joined with newlines, each one made safe."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def _dangerous(char: str) -> bool:
    return unicodedata.category(char) in _ESCAPED_CATEGORIES


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
