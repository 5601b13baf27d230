"""Inventory parsing: our format, Ansible's, --limit, and file:line errors for bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import compliance.hosts.inventory as inventory_module
from compliance.hosts.inventory import (
    ansible_inventory_command,
    expand_host_pattern,
    load_inventory,
)
from compliance.policy import ConfigError


def write(tmp_path: Path, text: str, name: str = "hosts.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_native_inventory_merges_defaults_groups_and_host(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
defaults:
  user: audit
  key: keys/id_ed25519
  known_hosts: kh
  port: 2200
hosts:
  bastion: {address: 192.0.2.1}
  web1: {address: 192.0.2.10, port: 22}
  web2: {address: 192.0.2.11, user: ops, password_env: WEB2_PW}
groups:
  web:
    hosts: [web1, web2]
    vars: {jump: bastion, sudo: true}
""",
    )
    inv = load_inventory(path)
    assert inv.format == "compliance"
    hosts = {h.name: h for h in inv.hosts}
    assert hosts["bastion"].port == 2200 and hosts["bastion"].jump is None
    assert hosts["web1"].port == 22 and hosts["web1"].user == "audit"
    assert hosts["web1"].jump is not None and hosts["web1"].jump.address == "192.0.2.1"
    assert hosts["web1"].sudo and not hosts["bastion"].sudo
    assert hosts["web2"].user == "ops" and hosts["web2"].password_env == "WEB2_PW"
    assert hosts["web1"].key == tmp_path / "keys/id_ed25519"
    assert hosts["web1"].known_hosts == tmp_path / "kh"
    assert [h.name for h in inv.limit(["web"])] == ["web1", "web2"]
    assert [h.name for h in inv.limit(["bastion,web2"])] == ["bastion", "web2"]
    with pytest.raises(ConfigError, match="no such host or group"):
        inv.limit(["db"])


def test_ansible_inventory(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
all:
  vars:
    ansible_user: deploy
    ansible_become: true
    ntp_server: ignored.example
  children:
    web:
      hosts:
        w1: {ansible_host: 192.0.2.10, ansible_port: 2222}
        w2:
    db:
      hosts:
        d1:
          ansible_host: 192.0.2.20
          ansible_ssh_private_key_file: /k/id
          compliance_known_hosts: /kh
      children:
        replicas:
          hosts:
            r1: {ansible_host: 192.0.2.21}
""",
    )
    inv = load_inventory(path)
    assert inv.format == "ansible"
    hosts = {h.name: h for h in inv.hosts}
    assert hosts["w1"].address == "192.0.2.10" and hosts["w1"].port == 2222
    assert hosts["w2"].address == "w2" and hosts["w2"].user == "deploy" and hosts["w2"].sudo
    assert hosts["d1"].key == Path("/k/id") and hosts["d1"].known_hosts == Path("/kh")
    assert [h.name for h in inv.limit(["db"])] == ["d1", "r1"]
    assert [h.name for h in inv.limit(["replicas"])] == ["r1"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("hosts:\n  a: {address: x}\n  b: {port: 99999}\n", 3, "less than or equal"),
        ("hosts:\n  a: {address: x, passwd: y}\n", 2, "unknown key"),
        ("hosts:\n  a: {password_env: 'hunter2 !'}\n", 2, "environment variable"),
        ("hosts:\n  a: {jump: b}\n", 2, "not in the inventory"),
        ("hosts:\n  a: {jump: b}\n  b: {jump: a}\n", 3, "loop"),
        ("hosts:\n  a: {}\ngroups:\n  g:\n    hosts: [a, z]\n", 5, "'z' is not in"),
        ("all:\n  hosts:\n    a:\n      ansible_password: secret\n", 4, "literal password"),
        ("hosts:\n  a: {}\n  a: {}\n", 3, "duplicate key"),
        ("hosts: [a\n", 2, "not valid YAML"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    problem = info.value.problems[0]
    assert problem.startswith(f"{path}:{line}:"), problem
    assert message in problem
    assert "secret" not in problem and "hunter2" not in problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inventory not found"):
        load_inventory(tmp_path / "nope.yml")


@pytest.fixture
def ansible_inventory() -> str:
    """The real ansible-inventory (ansible-core is a test dependency: pyproject's test
    extra). Outside CI a machine without it skips; in CI it must be there."""
    command = ansible_inventory_command()
    if command is None:
        message = "ansible-inventory not installed (pip install -e '.[test]' brings ansible-core)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return command


INI = """\
[web]
web[01:03] ansible_port=2222

[db]
db1 ansible_host=192.0.2.20

[prod:children]
web
db
"""


def test_ini_inventory_with_ranges_and_vars_dirs_through_ansible(
    tmp_path: Path, ansible_inventory: str
) -> None:
    path = write(tmp_path, INI, "hosts.ini")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("ansible_user: deploy\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "web02.yml").write_text("ansible_port: 2200\n")
    inv = load_inventory(path, ansible=ansible_inventory)
    hosts = {h.name: h for h in inv.hosts}
    assert set(hosts) == {"web01", "web02", "web03", "db1"}
    assert hosts["web01"].port == 2222 and hosts["web02"].port == 2200  # host_vars win
    assert hosts["web03"].user == "deploy" and hosts["db1"].user == "root"
    assert hosts["db1"].address == "192.0.2.20"
    assert [h.name for h in inv.limit(["prod"])] == [h.name for h in inv.hosts]
    assert sorted(h.name for h in inv.limit(["web"])) == ["web01", "web02", "web03"]


def test_directory_inventory_through_ansible(
    tmp_path: Path, ansible_inventory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also under the C locale a cron job or a CI runner may have (Ansible wants UTF-8)."""
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("LANG", "C")
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "hosts").write_text(INI)
    inv = load_inventory(tmp_path / "inv", ansible=ansible_inventory)
    assert len(inv.hosts) == 4


YAML_RANGES = """\
all:
  vars: {ansible_user: audit}
  children:
    web:
      hosts:
        web[01:03]: {ansible_port: 2222}
        edge-[a:b]-[1:2]:
"""


def test_yaml_ranges_expand_the_same_without_and_with_ansible(
    tmp_path: Path, ansible_inventory: str
) -> None:
    path = write(tmp_path, YAML_RANGES)
    ours = load_inventory(path, ansible=None)
    theirs = load_inventory(path, ansible=ansible_inventory)
    expected = {"web01", "web02", "web03", "edge-a-1", "edge-a-2", "edge-b-1", "edge-b-2"}
    assert {h.name for h in ours.hosts} == expected
    as_tuples = sorted((h.name, h.port, h.user, h.groups) for h in ours.hosts)
    assert as_tuples == sorted((h.name, h.port, h.user, h.groups) for h in theirs.hosts)


def test_literal_password_keeps_its_line_with_ansible(
    tmp_path: Path, ansible_inventory: str
) -> None:
    path = write(tmp_path, "all:\n  hosts:\n    a:\n      ansible_password: secret\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(path, ansible=ansible_inventory)
    assert info.value.problems[0].startswith(f"{path}:4:")
    assert "secret" not in info.value.problems[0]


def test_a_literal_password_in_group_vars_is_refused(
    tmp_path: Path, ansible_inventory: str
) -> None:
    path = write(tmp_path, INI, "hosts.ini")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "db.yml").write_text("ansible_ssh_pass: hunter2\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(path, ansible=ansible_inventory)
    problem = info.value.problems[0]
    assert "hosts.db1.ansible_ssh_pass (as ansible-inventory reads it)" in problem
    assert "hunter2" not in problem


def test_ansible_failure_fails_closed(tmp_path: Path, ansible_inventory: str) -> None:
    path = write(tmp_path, "[web\nweb1 ansible_port=\n", "hosts.ini")
    with pytest.raises(ConfigError, match="ansible-inventory could not read it"):
        load_inventory(path, ansible=ansible_inventory)


def test_ansible_that_hangs_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in command that never answers: a real ansible-inventory cannot be made to hang
    on demand, and the time limit is what is under test."""
    hang = tmp_path / "ansible-inventory"
    hang.write_text("#!/bin/sh\nexec sleep 30\n")
    hang.chmod(0o755)
    monkeypatch.setattr(inventory_module, "ANSIBLE_TIMEOUT", 0.5)
    path = write(tmp_path, INI, "hosts.ini")
    with pytest.raises(ConfigError, match=r"did not finish in [01] s"):
        load_inventory(path, ansible=str(hang))


def test_without_ansible_ranges_expand_and_ini_is_refused(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, YAML_RANGES), ansible=None)
    assert len(inv.hosts) == 7
    ini = write(tmp_path, INI, "hosts.ini")
    with pytest.raises(ConfigError, match="pip install ansible-core"):
        load_inventory(ini, ansible=None)
    (tmp_path / "group_vars").mkdir()
    with pytest.raises(ConfigError, match="group_vars/ beside this inventory"):
        load_inventory(tmp_path / "hosts.yml", ansible=None)


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("h[0:10:5]", ["h0", "h5", "h10"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("plain", ["plain"]),
    ],
)
def test_host_patterns(pattern: str, names: list[str]) -> None:
    assert expand_host_pattern(pattern) == names


@pytest.mark.parametrize("pattern", ["w[3:1]", "w[a:10]", "w[1:999999999]", "a[1:1000]b[1:1000]"])
def test_bad_host_patterns(pattern: str) -> None:
    with pytest.raises(ValueError, match="host range"):
        expand_host_pattern(pattern)
