"""Wazuh's regex dialects (PCRE2 and OS_Regex) translated to Python `re`, or refused.

Wazuh 5.x evaluates `r:` and `n:` with PCRE2; 4.x defaults to its own OS_Regex unless the
policy says `regex_type: pcre2`. Python's `re` is close to PCRE but not equal, and a
pattern that compiles in both yet means different things is the worst case for a gate
(a check that silently passes). So every pattern goes through a small translator that
rewrites what `re` spells differently, and refuses — with a message naming the feature —
what `re` cannot express. The table of features is in docs/wazuh.md.

All patterns are compiled with IGNORECASE (Wazuh matches case-insensitively) and ASCII
(PCRE2 without UTF/UCP: `\\d`, `\\w`, `\\s` are ASCII classes, not Unicode ones).
"""

from __future__ import annotations

import re
import warnings

FLAGS = re.IGNORECASE | re.ASCII


class PatternError(ValueError):
    """A pattern that cannot be evaluated faithfully; the message names the feature."""


_POSIX = {
    "alnum": "A-Za-z0-9",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "word": "A-Za-z0-9_",
    "xdigit": "0-9A-Fa-f",
}
_H = "\\t \\xa0"
_V = "\\n\\x0b\\f\\r\\x85"
_SIMPLE = {  # PCRE escape → Python text, outside a class
    "z": "\\Z",
    "Z": "(?=\\n?\\Z)",
    "h": f"[{_H}]",
    "H": f"[^{_H}]",
    "v": f"[{_V}]",
    "V": f"[^{_V}]",
    "R": f"(?:\\r\\n|[{_V}])",
    "e": "\\x1b",
}
_PASS = set("AbBdDwWsSfnrtax0123456789")
_REFUSED = {
    "K": "\\K (reset match start)",
    "G": "\\G (match start anchor)",
    "X": "\\X (grapheme cluster)",
    "C": "\\C (single code unit)",
    "p": "\\p{…} (Unicode property)",
    "P": "\\P{…} (Unicode property)",
}
_FLAG_GROUP = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def compile_pcre(pattern: str) -> re.Pattern[str]:
    return _compile(translate_pcre(pattern), pattern)


def compile_osregex(pattern: str) -> re.Pattern[str]:
    return _compile(translate_osregex(pattern), pattern)


def _compile(python: str, original: str) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(python, FLAGS)
    except (re.error, FutureWarning) as exc:
        raise PatternError(f"invalid regular expression {original!r}: {exc}") from None


def translate_pcre(pattern: str) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            text, i = _escape(pattern, i, in_class=False)
            out.append(text)
        elif ch == "[":
            text, i = _char_class(pattern, i)
            out.append(text)
        elif ch == "(":
            text, i = _group_open(pattern, i, at_start=not out)
            out.append(text)
        elif ch == "{" and re.match(r"\{,\d", pattern[i:]):
            raise PatternError(
                f"quantifier {{,n}} at offset {i} means 'literal text' in PCRE2 before 10.43 "
                "and {0,n} after; write {0,n} or escape the brace"
            )
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _escape(pattern: str, i: int, *, in_class: bool) -> tuple[str, int]:
    """Translate the escape at pattern[i] == '\\'; return (python text, next index)."""
    if i + 1 >= len(pattern):
        raise PatternError("pattern ends with a lone backslash")
    c = pattern[i + 1]
    rest = pattern[i + 2 :]
    if c == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        stop = len(pattern) if end < 0 else end + 2
        if in_class:
            return "".join("\\" + x if not x.isalnum() else x for x in literal), stop
        return re.escape(literal), stop
    if c == "E":
        return "", i + 2
    if c == "x" and rest.startswith("{"):
        close = rest.find("}")
        digits = rest[1:close] if close > 0 else ""
        if not re.fullmatch(r"[0-9A-Fa-f]{1,6}", digits):
            raise PatternError(f"bad \\x{{…}} escape at offset {i}")
        return _char_escape(int(digits, 16)), i + 3 + close
    if c == "o" and rest.startswith("{"):
        close = rest.find("}")
        digits = rest[1:close] if close > 0 else ""
        if not re.fullmatch(r"[0-7]{1,8}", digits):
            raise PatternError(f"bad \\o{{…}} escape at offset {i}")
        return _char_escape(int(digits, 8)), i + 3 + close
    if c == "c":
        if not rest or not rest[0].isascii() or not rest[0].isprintable():
            raise PatternError(f"bad \\c escape at offset {i}")
        return _char_escape(ord(rest[0].upper()) ^ 0x40), i + 3
    if c in _REFUSED:
        raise PatternError(f"{_REFUSED[c]} has no Python equivalent")
    if in_class:
        if c == "h":
            return _H, i + 2
        if c == "v":
            return _V, i + 2
        if c in "HVRNZzAGKbB" and c != "b":
            raise PatternError(f"\\{c} inside a character class is not supported")
        if c == "e":
            return "\\x1b", i + 2
        if c in _PASS or not c.isalnum():
            return "\\" + c, i + 2
        raise PatternError(f"unknown escape \\{c} at offset {i}")
    if c == "N" and not rest.startswith("{"):
        return "[^\\n]", i + 2
    if c in ("g", "k"):
        return _backreference(pattern, i)
    if c in _SIMPLE:
        return _SIMPLE[c], i + 2
    if c in _PASS or not c.isalnum():
        return "\\" + c, i + 2
    raise PatternError(f"unknown escape \\{c} at offset {i}")


def _char_escape(code: int) -> str:
    if code > 0x10FFFF:
        raise PatternError(f"character code {code:#x} is out of range")
    return f"\\x{code:02x}" if code < 0x100 else f"\\U{code:08x}"


def _backreference(pattern: str, i: int) -> tuple[str, int]:
    m = re.match(r"\\g(?:\{(-?\d+)\}|(-?\d+))", pattern[i:])
    if m:
        number = int(m.group(1) or m.group(2))
        if number <= 0:
            raise PatternError("relative back-references (\\g{-n}) are not supported")
        return f"(?:\\{number})", i + m.end()
    m = re.match(r"\\[gk](?:\{([A-Za-z_]\w*)\}|<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')", pattern[i:])
    if m:
        name = m.group(1) or m.group(2) or m.group(3)
        return f"(?P={name})", i + m.end()
    if pattern[i + 1] == "g" and re.match(r"\\g[<']", pattern[i:]):
        raise PatternError("subroutine calls (\\g<…>) are not supported")
    raise PatternError(f"bad back-reference at offset {i}")


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    out = ["["]
    j = i + 1
    n = len(pattern)
    if j < n and pattern[j] == "^":
        out.append("^")
        j += 1
    first = True
    while j < n:
        ch = pattern[j]
        if ch == "]" and not first:
            out.append("]")
            return "".join(out), j + 1
        first = False
        if ch == "[":
            m = re.match(r"\[:(\^?)([a-z]+):\]", pattern[j:])
            if m:
                body = _POSIX.get(m.group(2))
                if body is None:
                    raise PatternError(f"unknown POSIX class [:{m.group(2)}:]")
                if m.group(1):
                    raise PatternError(f"negated POSIX class [:^{m.group(2)}:] is not supported")
                out.append(body)
                j += m.end()
                continue
            if re.match(r"\[[.=]", pattern[j:]):
                raise PatternError("POSIX collating elements [. .] / [= =] are not supported")
            out.append("\\[")
            j += 1
        elif ch == "\\":
            text, j = _escape(pattern, j, in_class=True)
            out.append(text)
        elif ch in "&~|":
            out.append("\\" + ch)
            j += 1
        elif ch == "-" and out[-1].endswith("-"):
            out.append("\\-")
            j += 1
        else:
            out.append(ch)
            j += 1
    raise PatternError(f"character class opened at offset {i} is never closed")


def _group_open(pattern: str, i: int, *, at_start: bool) -> tuple[str, int]:
    rest = pattern[i:]
    if rest.startswith("(*"):
        raise PatternError("backtracking control verbs (*…) are not supported")
    if not rest.startswith("(?"):
        return "(", i + 1
    two = rest[2:3]
    if rest.startswith(("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>", "(?#")):
        if rest.startswith("(?#"):
            close = rest.find(")")
            return "", i + (close + 1 if close > 0 else len(rest))
        return rest[: 4 if rest.startswith(("(?<=", "(?<!")) else 3], i + (
            4 if rest.startswith(("(?<=", "(?<!")) else 3
        )
    if rest.startswith("(?P<") or rest.startswith("(?P="):
        return rest[:4], i + 4
    if rest.startswith("(?P>"):
        raise PatternError("recursion (?P>name) is not supported")
    m = re.match(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')", rest)
    if m:
        return f"(?P<{m.group(1) or m.group(2)}>", i + m.end()
    if two == "|":
        raise PatternError("branch reset groups (?|…) are not supported")
    if re.match(r"\(\?(?:R|[+-]?\d+|&)", rest):
        raise PatternError(
            "recursion and subroutine calls ((?R), (?1), (?&name)) are not supported"
        )
    if two == "(":
        m = re.match(r"\(\?\((?:(\d+)|<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'|([A-Za-z_]\w*))\)", rest)
        if not m or (m.group(4) and m.group(4).startswith("R")) or m.group(4) == "DEFINE":
            raise PatternError("only (?(n)…) and (?(name)…) conditionals are supported")
        ref = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        return f"(?({ref})", i + m.end()
    m = _FLAG_GROUP.match(rest)
    if m:
        on, off, end = m.group(1), m.group(2) or "", m.group(3)
        unsupported = set(on + off) - set("imsx")
        if unsupported:
            raise PatternError(f"inline flag(s) {''.join(sorted(unsupported))} not supported")
        if "x" in on + off:
            raise PatternError("extended mode (?x) is not supported; remove the whitespace")
        if "i" in off:
            raise PatternError("(?-i) would make part of the pattern case-sensitive; not supported")
        if end == ":":
            # scoped flags: s and m are meaningless on a single line; i is always on
            return "(?:", i + m.end()
        # (?i) (?s) (?m) anywhere: no-ops here (always caseless, one line at a time)
        return "", i + m.end()
    raise PatternError(f"unsupported group syntax at offset {i}: {rest[:6]!r}")


# -- OS_Regex (Wazuh 4.x default engine) -----------------------------------------------

_OS_CLASSES = {
    "w": "[A-Za-z0-9@_-]",
    "W": "[^A-Za-z0-9@_-]",
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": " ",
    "S": "[^ ]",
    "t": "\\t",
    "p": "[()*+,\\-.:;<=>?\\[\\]!\"'#$%&|{}]",
    ".": ".",
}
_OS_LITERALS = set("$()\\|<+*^.")


def translate_osregex(pattern: str) -> str:
    """OS_Regex: \\w \\d \\s \\t \\p \\. classes, + and *, ^ $ |, groups; all else literal."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise PatternError("pattern ends with a lone backslash")
            c = pattern[i + 1]
            if c in _OS_CLASSES:
                out.append(_OS_CLASSES[c])
            elif c in _OS_LITERALS:
                out.append(re.escape(c))
            else:
                raise PatternError(f"unknown OS_Regex escape \\{c} at offset {i}")
            i += 2
        elif ch in "+*":
            if not out or out[-1] in ("(", "|", "^"):
                raise PatternError(f"{ch!r} at offset {i} has nothing to repeat")
            out.append(ch)
            i += 1
        elif ch in "()|^$":
            out.append(ch)
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def compile_osmatch(pattern: str) -> re.Pattern[str]:
    """OS_Match (file names in 4.x `d:` rules): literal text, ^ $ anchors, | alternatives."""
    alternatives = []
    for alt in pattern.split("|"):
        start = alt.startswith("^")
        end = alt.endswith("$") and len(alt) > int(start)
        core = alt[int(start) : len(alt) - int(end)]
        alternatives.append(("^" if start else "") + re.escape(core) + ("$" if end else ""))
    return re.compile("|".join(alternatives), FLAGS)
