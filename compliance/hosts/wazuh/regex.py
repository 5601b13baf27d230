"""Wazuh's regex dialects: PCRE2 through the real library, OS_Regex translated to `re`.

PCRE2 (5.x, and 4.x files with `regex_type: pcre2`): every pattern is compiled by the real
PCRE2 library (the `pcre2` binding) with the options the agent's C++ SCA engine uses,
`PCRE2_CASELESS | PCRE2_MULTILINE` and no UTF mode (wazuh/wazuh
src/wazuh_modules/sca/sca_impl/src/sca_utils.cpp, Pcre2Match), and matched against the
UTF-8 bytes of one line, as the agent matches a `std::string`. So the whole PCRE2 dialect
works (\\K, recursion, verbs, POSIX classes, `(?x)` …) and means exactly what it means to
the agent; a pattern PCRE2 refuses is refused with PCRE2's own message.

OS_Regex (4.x files without `regex_type`): Wazuh's own small engine, translated to
Python's `re` (IGNORECASE, ASCII), or refused naming the feature.
"""

from __future__ import annotations

import re
import warnings

import pcre2

FLAGS = re.IGNORECASE | re.ASCII
PCRE2_OPTIONS = pcre2.IGNORECASE | pcre2.MULTILINE
"""PCRE2_CASELESS | PCRE2_MULTILINE, as the agent compiles; bytes patterns: no UTF, no UCP."""


class PatternError(ValueError):
    """A pattern that cannot be evaluated faithfully; the message names the feature."""


class Uncapturable(ValueError):
    """The match has no value the agent could read (a later group set, group 1 not)."""


class LinePattern:
    """A compiled pattern: does it match a line, and what value would `n:` read from it."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def search(self, line: str) -> bool:
        raise NotImplementedError

    def capture(self, line: str) -> str | None:
        """None: no match. Group 1 when any group matched, else the whole match (as the
        agent: `rc >= 2 ? group 1 : group 0`)."""
        raise NotImplementedError


class Pcre2Pattern(LinePattern):
    __slots__ = ("_code",)

    def __init__(self, source: str) -> None:
        super().__init__(source)
        try:
            self._code = pcre2.compile(source.encode("utf-8", "surrogateescape"), PCRE2_OPTIONS)
        except pcre2.PatternError as exc:
            raise PatternError(f"PCRE2 refuses {source!r}: {exc}") from None
        except pcre2.LibraryError as exc:  # pragma: no cover - resource limits
            raise PatternError(f"PCRE2 cannot compile {source!r}: {exc}") from None

    def search(self, line: str) -> bool:
        return self._code.search(line.encode("utf-8", "surrogateescape")) is not None

    def capture(self, line: str) -> str | None:
        match = self._code.search(line.encode("utf-8", "surrogateescape"))
        if match is None:
            return None
        value = match.group(0)
        groups = [match.group(i) for i in range(1, self._code.groups + 1)]
        if any(g is not None for g in groups):
            if groups[0] is None:
                raise Uncapturable(f"{self.source!r} matched {line!r} but group 1 is unset")
            value = groups[0]
        return bytes(value).decode("utf-8", "replace")


class RePattern(LinePattern):
    __slots__ = ("_re",)

    def __init__(self, source: str, compiled: re.Pattern[str]) -> None:
        super().__init__(source)
        self._re = compiled

    def search(self, line: str) -> bool:
        return self._re.search(line) is not None

    def capture(self, line: str) -> str | None:
        match = self._re.search(line)
        if match is None:
            return None
        if self._re.groups and match.group(1) is not None:
            return match.group(1)
        if any(match.groups()):
            raise Uncapturable(f"{self.source!r} matched {line!r} but group 1 is unset")
        return match.group(0)


class ExactText(LinePattern):
    """A plain `d:` file-name pattern: the whole name, case-sensitive (`==` in the agent)."""

    __slots__ = ()

    def search(self, line: str) -> bool:
        return line == self.source

    def capture(self, line: str) -> str | None:
        return line if line == self.source else None


def compile_pcre(pattern: str) -> LinePattern:
    return Pcre2Pattern(pattern)


def compile_osregex(pattern: str) -> LinePattern:
    return RePattern(pattern, _compile(translate_osregex(pattern), pattern))


def _compile(python: str, original: str) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(python, FLAGS)
    except (re.error, FutureWarning) as exc:
        raise PatternError(f"invalid regular expression {original!r}: {exc}") from None


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


def compile_osmatch(pattern: str) -> LinePattern:
    """OS_Match (file names in 4.x `d:` rules): literal text, ^ $ anchors, | alternatives."""
    alternatives = []
    for alt in pattern.split("|"):
        start = alt.startswith("^")
        end = alt.endswith("$") and len(alt) > int(start)
        core = alt[int(start) : len(alt) - int(end)]
        alternatives.append(("^" if start else "") + re.escape(core) + ("$" if end else ""))
    return RePattern(pattern, re.compile("|".join(alternatives), FLAGS))
