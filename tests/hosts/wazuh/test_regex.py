"""PCRE2 patterns run through the real PCRE2 library with the agent's options; OS_Regex
patterns mean in Python what they mean to Wazuh 4.x, or are refused."""

from __future__ import annotations

import pytest

from compliance.hosts.wazuh.regex import PatternError, Uncapturable, compile_osregex, compile_pcre


@pytest.mark.parametrize(
    ("pattern", "line", "matches"),
    [
        (r"^\s*PermitRootLogin\s+no", "  permitrootlogin NO", True),  # caseless
        (r"[[:space:]]+hard[[:space:]]", "*  hard core 0", True),  # POSIX class
        (r"^[[:digit:]]+$", "123", True),
        (r"^[[:digit:]]+$", "12a", False),
        (r"^\d+$", "١٢٣", False),  # ASCII digits only, as PCRE2 without UCP
        (r"^\w+$", "héllo", False),
        (r"a\h+b", "a \t b", True),  # \h: horizontal space
        (r"end\z", "the end", True),
        (r"end\Z", "the end", True),
        (r"(?<key>Port)\s+\k<key>", "Port Port", True),  # named group and reference
        (r"(?'k'a)\g{k}", "aa", True),
        (r"(a)\g{1}", "aa", True),
        (r"\Q1.2\E", "1x2", False),  # \Q…\E is literal
        (r"\Q1.2\E", "1.2", True),
        (r"x(?i)Y", "xy", True),  # mid-pattern (?i) is a no-op: always caseless
        (r"a++b", "aab", True),  # possessive
        (r"(?>a+)b", "aab", True),  # atomic group
        (r"\e", "\x1b", True),
        (r"[\h]", "\t", True),
        (r"a\Nb", "a-b", True),
        (r"[a&&b]", "&", True),  # no set operations in PCRE: & is literal
        (r"(?#comment)ok", "ok", True),
        (r"^(a)?(?(1)b|c)$", "c", True),  # conditional on a group
    ],
)
def test_pcre_translation(pattern: str, line: str, matches: bool) -> None:
    assert compile_pcre(pattern).search(line) is matches


@pytest.mark.parametrize(
    ("pattern", "line", "matches"),
    [
        # the PCRE2 dialect Python's re lacks: all of it works, as in the agent
        (r"foo\Kbar", "foobar", True),
        (r"^(\((?:[^()]|(?1))*\))$", "(a(b)c)", True),  # recursion
        (r"(?|(a)|(b))\1", "bb", True),  # branch reset
        (r"a(*SKIP)(*FAIL)|b", "ab", True),  # backtracking verbs
        (r"(?x) p o r t \s 22", "Port 22", True),  # extended mode
        (r"[[:^alpha:]]", "1", True),
        (r"(a)\g{-1}", "aa", True),
        (r"\p{L}", "x", True),
        (r"(?-i)Port", "port", False),  # (?-i) really turns caselessness off
        (r"^\w+$", "h\xe9llo", False),  # no UTF/UCP: \w is ASCII, as the agent's bytes
    ],
)
def test_the_whole_pcre2_dialect(pattern: str, line: str, matches: bool) -> None:
    assert compile_pcre(pattern).search(line) is matches


def test_capture_is_group_one_or_the_whole_match() -> None:
    assert compile_pcre(r"^PASS_MAX_DAYS\s+(\d+)").capture("PASS_MAX_DAYS 90") == "90"
    assert compile_pcre(r"\d+").capture("x 42") == "42"
    assert compile_pcre(r"x").capture("y") is None
    with pytest.raises(Uncapturable):  # the agent reads group 1's unset offsets: it throws
        compile_pcre(r"(a)|(b)").capture("b")


@pytest.mark.parametrize("pattern", [r"(a", r"a{2,1}", "a\\", r"\i", r"[[:nope:]]"])
def test_patterns_pcre2_refuses_are_refused_with_its_message(pattern: str) -> None:
    with pytest.raises(PatternError, match="PCRE2 refuses"):
        compile_pcre(pattern)


@pytest.mark.parametrize(
    ("pattern", "line", "matches"),
    [
        (r"^password\.+pam_unix.so\.+sha512", "password  [x] pam_unix.so obscure sha512", True),
        (r"pam_unix.so", "pam_unixXso", False),  # a plain dot is literal
        (r"^\s*\t*Protocol\s*\t*2", " \tProtocol\t2", True),
        (r"^Port\s22$", "Port\t22", False),  # \s is a space only
        (r"^\w+:\$1\$", "root:$1$abc", True),
        (r"\w+@\w+", "a-b@c_d", True),  # \w includes - @ _
        (r"\p+", "(", True),  # punctuation
        (r"a|^b", "xb", False),
        (r"PASS_MAX_DAYS\s*\t*(\d+)$", "PASS_MAX_DAYS\t90", True),
        (r"[x]", "[x]", True),  # no classes in OS_Regex: brackets are literal
    ],
)
def test_os_regex_translation(pattern: str, line: str, matches: bool) -> None:
    assert compile_osregex(pattern).search(line) is matches


def test_os_regex_unknown_escape_is_refused() -> None:
    with pytest.raises(PatternError, match="OS_Regex escape"):
        compile_osregex(r"\q")
