"""Property tests for the inventory loader, in both forms it reads (ours and Ansible's YAML):
whatever the file holds, loading ends in a clean ConfigError naming the file (→ exit 2) or
an inventory whose every host can be connected to — never another exception. Then
`--limit` and `--shard` on whatever loaded: each host in exactly one shard."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from compliance.hosts.inventory import Inventory, load_inventory
from compliance.hosts.shard import Shard
from compliance.policy import ConfigError
from tests.conftest import run_cli
from tests.test_fuzz_loaders import SETTINGS

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["web-1", "db", "127.0.0.1", "root", "~/.ssh/id", "22", "65536", "a b"]),
    st.sampled_from(["x" * 5000, "ansible_host", "AUDIT_PW", "$(reboot)"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)
SETTING_KEYS = st.sampled_from(
    ["address", "port", "user", "key", "password_env", "sudo", "jump", "known_hosts", "bogus"]
)
ANSIBLE_KEYS = st.sampled_from(
    [
        "ansible_host",
        "ansible_port",
        "ansible_user",
        "ansible_ssh_private_key_file",
        "ansible_become",
        "ansible_password",
        "compliance_jump",
        "compliance_password_env",
        "compliance_bogus",
        "other_var",
    ]
)
names = st.sampled_from(["web-1", "web-2", "db", "bastion", "all", "", "ünï", "1"])
settings_maps = st.dictionaries(SETTING_KEYS, values, max_size=4)
native = st.fixed_dictionaries(
    {},
    optional={
        "version": values,
        "defaults": st.one_of(settings_maps, values),
        "hosts": st.one_of(st.dictionaries(names, st.one_of(settings_maps, st.none())), values),
        "groups": st.one_of(
            st.dictionaries(
                names,
                st.fixed_dictionaries(
                    {}, optional={"hosts": st.lists(names, max_size=3), "vars": settings_maps}
                ),
            ),
            values,
        ),
        "bogus": values,
    },
)
ansible_vars = st.dictionaries(ANSIBLE_KEYS, values, max_size=4)
ansible_group = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "hosts": st.dictionaries(names, st.one_of(ansible_vars, st.none()), max_size=3),
            "vars": ansible_vars,
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "hosts": st.dictionaries(names, st.one_of(ansible_vars, st.none()), max_size=3),
            "vars": ansible_vars,
            "children": st.dictionaries(names, inner, max_size=3),
        },
    ),
    max_leaves=6,
)
ansible = st.dictionaries(names, st.one_of(ansible_group, values), min_size=1, max_size=3)


def check_inventory(path: Path, data: bytes) -> Inventory | None:
    path.write_bytes(data)
    try:
        # our own reader (what runs without ansible-core); the ansible-inventory path is
        # tested on real Ansible inventories in tests/hosts/test_inventory.py
        inventory = load_inventory(path, ansible=None)
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p for p in exc.problems), exc.problems
        assert all("\n" not in p for p in exc.problems)
        return None
    assert inventory.hosts
    for host in inventory.hosts:
        assert isinstance(host.address, str) and host.address
        assert 1 <= host.port <= 65535
        assert isinstance(host.user, str)
    for group, members in inventory.groups.items():
        assert set(members) <= {h.name for h in inventory.hosts}, group
    for count in (1, 2, 3):
        owners = Counter(
            h.name for i in range(1, count + 1) for h in Shard(i, count).select(inventory.hosts)
        )
        assert set(owners.values()) == {1} and len(owners) == len(inventory.hosts)
    hosts = {h.name for h in inventory.hosts}
    # a host's own name wins over a group's; --limit splits on commas and drops blanks
    for group in {g for g in inventory.groups if g.strip() and "," not in g} - hosts:
        assert {h.name for h in inventory.limit([group])} == set(inventory.groups[group])
    return inventory


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")


@SETTINGS
@given(native)
def test_random_native_inventories(tmp_path: Path, data: dict[str, Any]) -> None:
    check_inventory(tmp_path / "inv.yml", dump(data))


@SETTINGS
@given(ansible)
def test_random_ansible_inventories(tmp_path: Path, data: dict[str, Any]) -> None:
    check_inventory(tmp_path / "inv.yml", dump(data))


@SETTINGS
@given(st.one_of(values, st.binary(max_size=400).map(lambda b: b"\xff" + b)))
@example({"": {"\n": None}})  # found in CI: a key with a newline split the error line
def test_random_values_and_bytes(tmp_path: Path, data: Any) -> None:
    check_inventory(tmp_path / "inv.yml", data if isinstance(data, bytes) else dump(data))


NATIVE_TEXT = """\
defaults:
  user: audit
  key: ~/.ssh/audit
  port: 22
hosts:
  web-1: {address: 10.0.0.1}
  web-2: {address: 10.0.0.2, jump: bastion}
  bastion: {address: 192.0.2.10, port: 2222}
groups:
  web: {hosts: [web-1, web-2], vars: {sudo: true}}
"""
ANSIBLE_TEXT = """\
all:
  vars:
    ansible_user: audit
  children:
    web:
      hosts:
        web-1: {ansible_host: 10.0.0.1, ansible_port: 22}
        web-2: {ansible_host: 10.0.0.2, compliance_jump: bastion}
    infra:
      hosts:
        bastion: {ansible_host: 192.0.2.10}
"""
MUTATIONS = st.sampled_from(
    [
        lambda t: t.replace(":", "", 1),
        lambda t: t.replace("  ", "\t", 1),
        lambda t: t + "\n  - [",
        lambda t: t.replace("22", "9" * 400, 1),
        lambda t: t.replace("10.0.0.1", "{a: [b]}", 1),
        lambda t: t.replace("bastion", "web-2", 1),
        lambda t: t.replace("\n", "\n\x00", 1),
        lambda t: t[: len(t) // 2],
        lambda t: t.replace("web-1", "&a web-1", 1).replace("web-2:", "*a:", 1),
        lambda t: t.replace("audit", "null", 1),
        lambda t: t.replace("hosts", "host", 1),
    ]
)


@SETTINGS
@given(st.sampled_from([NATIVE_TEXT, ANSIBLE_TEXT]), st.lists(MUTATIONS, min_size=1, max_size=3))
def test_mutated_inventories(tmp_path: Path, text: str, mutations: list[Any]) -> None:
    for mutate in mutations:
        text = mutate(text)
    check_inventory(tmp_path / "inv.yml", text.encode("utf-8", "surrogatepass"))


def test_the_unmutated_inventories_load(tmp_path: Path) -> None:
    for text in (NATIVE_TEXT, ANSIBLE_TEXT):
        inventory = check_inventory(tmp_path / "inv.yml", text.encode())
        assert inventory is not None
        assert {h.name for h in inventory.hosts} == {"web-1", "web-2", "bastion"}
        (web2,) = [h for h in inventory.hosts if h.name == "web-2"]
        assert web2.jump is not None and web2.jump.name == "bastion"


def test_a_broken_inventory_is_exit_2_at_the_cli(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_bytes(b"hosts:\n  web-1: {port: \xff\xfe}\n")
    run = run_cli("audit", "--inventory", inventory, "--db", tmp_path / "s.db")
    assert run.code == 2 and run.stderr.startswith(f"error: {inventory}"), run.stderr
    assert "Traceback" not in run.stderr
