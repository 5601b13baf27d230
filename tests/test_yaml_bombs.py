"""Recursive aliases and "billion laughs" in any YAML the gate reads: exit 2 at file:line,
in bounded time and memory, never an internal error or a hang.

The e2e tests run the real command with a subprocess timeout: not a claim about speed, a
guard that turns a hang into a failure instead of a stuck suite.
"""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from compliance.policy import ConfigError
from compliance.policy.yaml_limits import MAX_DEPTH
from compliance.policy.yaml_source import parse_yaml
from compliance.scanners.interface import ScannerFailure
from compliance.scanners.semgrep_rules import load_rule_set
from tests.conftest import run_cli

HANG_GUARD = 60  # seconds; a bounded check takes well under one


def laughs(indent: str = "", flow: bool = True) -> str:
    """A billion-laughs block: `a` a list of nine strings, each next anchor a list of nine
    aliases of the previous one (9**9 strings in all)."""
    names = "abcdefghi"
    lines = [f'{indent}a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in pairwise(names):
        if flow:
            lines.append(f"{indent}{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        else:
            lines.append(f"{indent}{name}: &{name}")
            lines += [f"{indent}  - *{prev}"] * 9
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    def stop(*_: object) -> None:
        raise TimeoutError("the YAML check did not finish: it would hang the gate")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_GUARD)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def problems(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(textwrap.dedent(text), tmp_path / "doc.yml")
    return caught.value.problems


def test_billion_laughs_is_refused_at_the_alias_that_goes_over(tmp_path: Path) -> None:
    for flow in (True, False):
        body = laughs(flow=flow)
        found = problems("version: 1\n" + body, tmp_path)
        assert len(found) == 1
        assert "alias *e would repeat more than 100000 values" in found[0]
        line = int(found[0].split(":")[1])
        assert "*e" in ("version: 1\n" + body).splitlines()[line - 1], found


@pytest.mark.parametrize(
    ("text", "line", "alias"),
    [
        ("a: &x\n  - 1\n  - *x\n", 3, "x"),
        ("a: &x\n  b:\n    c: *x\n", 3, "x"),
        ("a: &x [1, [2, *x]]\n", 1, "x"),
        ("top: 1\nr: &r {k: &s [*s]}\n", 2, "s"),
    ],
)
def test_a_recursive_alias_is_named_at_its_line(
    tmp_path: Path, text: str, line: int, alias: str
) -> None:
    (found,) = problems(text, tmp_path)
    assert found.startswith(f"{tmp_path / 'doc.yml'}:{line}: alias *{alias} refers to a node")


def test_an_alias_as_its_own_mapping_key_is_refused(tmp_path: Path) -> None:
    (found,) = problems("a: &m {*m : 1}\n", tmp_path)
    assert "recursive alias" in found


def test_nesting_beyond_the_depth_bound_is_refused(tmp_path: Path) -> None:
    deep = MAX_DEPTH + 50
    (found,) = problems("x: " + "[" * deep + "]" * deep + "\n", tmp_path)
    assert f"doc.yml:1: nested more than {MAX_DEPTH} levels deep" in found
    # aliases stack depth beyond what is written: 3 x 90 levels, each level within bounds
    chain = "a: &a " + "[" * 90 + "1" + "]" * 90 + "\n"
    chain += "b: &b " + "[" * 90 + "*a" + "]" * 90 + "\n"
    chain += "c: " + "[" * 90 + "*b" + "]" * 90 + "\n"
    (found,) = problems(chain, tmp_path)
    assert "nested more than" in found


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    shared = "shared: &s [" + ", ".join(f"v{i}" for i in range(40)) + "]\n"
    uses = "".join(f"use{i}: *s\n" for i in range(1000))  # 41k nodes repeated: in budget
    doc = parse_yaml(shared + uses, tmp_path / "ok.yml")
    assert doc.data["use999"] == doc.data["shared"] and len(doc.data["shared"]) == 40
    wide = "shared: &s [" + ", ".join("x" for _ in range(200)) + "]\n"
    wide += "".join(f"use{i}: *s\n" for i in range(600))  # 120k repeated nodes: over
    (found,) = problems(wide, tmp_path)
    assert "ok.yml" not in found and "doc.yml:" in found and "alias *s" in found


def test_a_semgrep_rule_file_bomb_names_file_and_line(tmp_path: Path) -> None:
    body = laughs(indent="      ")
    rules = tmp_path / "bomb.yml"
    rules.write_text(
        "rules:\n  - id: r\n    languages: [python]\n    message: m\n    severity: ERROR\n"
        "    pattern: eval(...)\n    metadata:\n" + body
    )
    with pytest.raises(ScannerFailure) as caught:
        load_rule_set([rules])
    assert caught.value.reason.startswith(f"{rules}:")
    assert "alias *e would repeat" in caught.value.reason
    recursive = tmp_path / "recursive.yml"
    recursive.write_text("rules: &r\n  - *r\n")
    with pytest.raises(ScannerFailure) as caught:
        load_rule_set([recursive])
    assert caught.value.reason.startswith(f"{recursive}:2: ")


# --- the real command ---------------------------------------------------------------------

BOMB = laughs()


def run(*args: str | Path) -> tuple[int, str]:
    result = run_cli(*args, timeout=HANG_GUARD)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result.code, result.stderr


def assert_names_the_alias(stderr: str, path: Path) -> None:
    lines = [line for line in stderr.splitlines() if str(path) in line]
    assert lines, stderr
    assert any(f"{path}:" in line and "alias *e would repeat" in line for line in lines), stderr


@pytest.mark.e2e
def test_policy_check_and_scan_refuse_a_policy_bomb(tmp_path: Path, db: str) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("version: 1\n" + BOMB)
    code, stderr = run("policy", "check", policy)
    assert code == 2
    assert_names_the_alias(stderr, policy)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("x = 1\n")
    code, stderr = run("scan", tree, "--policy", policy, "--db", db)
    assert code == 2
    assert_names_the_alias(stderr, policy)
    recursive = tmp_path / "recursive.yml"
    recursive.write_text("version: 1\nexclude: &e\n  - *e\n")
    code, stderr = run("scan", tree, "--policy", recursive, "--db", db)
    assert code == 2 and f"{recursive}:3: alias *e refers to a node that contains it" in stderr


@pytest.mark.e2e
def test_a_waiver_file_bomb_is_refused(tmp_path: Path, db: str) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("version: 1\nwaivers: waivers.yml\n")
    waivers = tmp_path / "waivers.yml"
    waivers.write_text("waivers: []\n" + BOMB)
    code, stderr = run("policy", "check", policy)
    assert code == 2
    assert_names_the_alias(stderr, waivers)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("x = 1\n")
    code, stderr = run("scan", tree, "--policy", policy, "--db", db)
    assert code == 2
    assert_names_the_alias(stderr, waivers)


@pytest.mark.e2e
@pytest.mark.parametrize("style", ["native", "ansible"])
def test_audit_refuses_an_inventory_bomb_before_any_ssh(
    tmp_path: Path, db: str, style: str
) -> None:
    inventory = tmp_path / "hosts.yml"
    if style == "native":
        inventory.write_text(
            "hosts:\n  web1: {address: 127.0.0.1, port: 9}\nvars:\n" + laughs("  ")
        )
    else:
        inventory.write_text(
            "all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
            "  vars:\n" + laughs("    ")
        )
    code, stderr = run("audit", "--inventory", inventory, "--db", db)
    assert code == 2
    assert_names_the_alias(stderr, inventory)
    assert "web1" not in stderr  # no host was tried
    assert run_cli("scans", "--db", db, "--json").json() == []  # nor a scan begun


@pytest.mark.e2e
def test_host_policy_and_semgrep_rule_bombs_are_refused(tmp_path: Path, db: str) -> None:
    host_policy = tmp_path / "host-policy.yml"
    host_policy.write_text("name: bomb\nchecks: []\n" + BOMB)
    code, stderr = run("policy", "check-hosts", host_policy)
    assert code == 2
    assert_names_the_alias(stderr, host_policy)

    rules = tmp_path / "rules" / "bomb.yml"
    rules.parent.mkdir()
    rules.write_text(
        "rules:\n  - id: r\n    languages: [python]\n    message: m\n    severity: ERROR\n"
        "    pattern: eval(...)\n    metadata:\n" + laughs("      ")
    )
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "version: 1\nscanners: [semgrep]\nper_scanner:\n  semgrep:\n    rules: [rules/bomb.yml]\n"
    )
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("eval('1')\n")
    code, stderr = run("scan", tree, "--policy", policy, "--db", db)
    assert code == 2
    assert_names_the_alias(stderr, rules)
