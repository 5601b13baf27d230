"""Inventory parsing: our format, Ansible's, --limit, and file:line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.hosts.inventory import load_inventory
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
