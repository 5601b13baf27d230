"""Property tests: whatever a Wazuh policy's rules and patterns hold, loading ends in a
policy or a clean ConfigError naming file:line — never another exception (never exit 2
with a traceback, never a silently dropped rule)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.hosts.wazuh.loader import load_wazuh_policy
from compliance.hosts.wazuh.regex import PatternError, compile_osregex, compile_pcre
from compliance.policy.yaml_source import ConfigError

SETTINGS = settings(max_examples=200, deadline=None)
pieces = st.sampled_from(
    ["f:", "d:", "p:", "c:", "not ", "!", " -> ", " && ", "r:", "n:", " compare ", "<=", "> ",
     "3", "-1", "$v", "/etc/x", "\\", "(", ")", "[", "]", "[[:", ":]]", "{", ",", "}", "?",
     "*", "+", "|", "^", "$", "'", '"', " ", "\\Q", "\\E", "\\d", "\\s", "(?", "<", "P", "x"]
)  # fmt: skip
rules = st.lists(pieces, min_size=1, max_size=12).map("".join)


def _load(rule_list: list[object]) -> None:
    document = {
        "policy": {"id": "fz", "name": "fuzz"},
        "variables": {"$v": "/etc/a,/etc/b"},
        "checks": [{"id": 1, "name": "fuzzed", "condition": "all", "rules": rule_list}],
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yml"
        path.write_text(yaml.safe_dump(document))
        try:
            loaded = load_wazuh_policy(path)
        except ConfigError as exc:
            assert exc.problems and all(p.startswith(f"{path}:") for p in exc.problems)
        else:
            check = loaded.program.checks[0]
            if check.unsupported:  # the check is an error on every host, named file:line
                assert all(p.startswith(f"{path}:") for p in check.unsupported)
            else:
                assert len(check.rules) == len(rule_list)


@SETTINGS
@given(st.lists(rules, min_size=1, max_size=3))
def test_any_rule_text_loads_or_is_a_file_line_error(rule_list: list[str]) -> None:
    _load(list(rule_list))


@SETTINGS
@given(st.lists(st.one_of(st.integers(), st.none(), st.text(max_size=30)), min_size=1, max_size=3))
def test_any_rule_value_loads_or_is_a_file_line_error(rule_list: list[object]) -> None:
    _load(rule_list)


@SETTINGS
@given(st.lists(pieces, max_size=15).map("".join))
def test_patterns_compile_or_are_refused_cleanly(pattern: str) -> None:
    for compile_ in (compile_pcre, compile_osregex):
        try:
            compiled = compile_(pattern)
        except PatternError:
            continue
        compiled.search("PASS_MAX_DAYS 90 /etc/x $v")
