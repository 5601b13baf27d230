"""PCRE2 and OS_Regex patterns mean in Python what they mean to Wazuh, or are refused."""

from __future__ import annotations

import pytest

from compliance.hosts.wazuh.regex import PatternError, compile_osregex, compile_pcre


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
        (r"\x{41}", "A", True),
        (r"\e", "\x1b", True),
        (r"[\h]", "\t", True),
        (r"a\Nb", "a-b", True),
        (r"[a&&b]", "&", True),  # no set operations in PCRE: & is literal
        (r"(?#comment)ok", "ok", True),
        (r"^(a)?(?(1)b|c)$", "c", True),  # conditional on a group
    ],
)
def test_pcre_translation(pattern: str, line: str, matches: bool) -> None:
    assert (compile_pcre(pattern).search(line) is not None) is matches


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"foo\Kbar", "\\K"),
        (r"\Gx", "\\G"),
        (r"\p{L}+", "Unicode property"),
        (r"(?R)", "recursion"),
        (r"(?1)", "recursion"),
        (r"(?|a|b)", "branch reset"),
        (r"(*FAIL)", "verbs"),
        (r"a{,3}", "{,n}"),
        (r"(?x) a b", "extended"),
        (r"(?-i)a", "case-sensitive"),
        (r"[[:^alpha:]]", "negated POSIX"),
        (r"[[:nope:]]", "unknown POSIX"),
        (r"(a", "invalid regular expression"),
        ("a\\", "lone backslash"),
        (r"\i", "unknown escape"),
        (r"(a)\g{-1}", "relative"),
    ],
)
def test_pcre_features_python_lacks_are_refused(pattern: str, feature: str) -> None:
    with pytest.raises(PatternError, match=feature.replace("\\", "\\\\").replace("{", "\\{")):
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
    assert (compile_osregex(pattern).search(line) is not None) is matches


def test_os_regex_unknown_escape_is_refused() -> None:
    with pytest.raises(PatternError, match="OS_Regex escape"):
        compile_osregex(r"\q")
