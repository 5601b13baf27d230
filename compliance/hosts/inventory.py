"""Which hosts to audit and how to reach them, from our YAML inventory or an Ansible one.

Ops teams already keep an Ansible inventory, so we read that form as Ansible does: when
`ansible-inventory` is installed (beside our Python, or on PATH), any Ansible inventory —
INI, YAML, a directory, host ranges such as `web[01:03]`, group_vars/ and host_vars/ — is
read through `ansible-inventory -i PATH --list` (a subprocess with a time limit; any failure
of it is an error, never an empty fleet). Without it, our own reader takes Ansible's YAML
form and expands host ranges itself; an INI file, a directory, or group_vars/host_vars
beside the file (which only Ansible would apply) is refused, naming what to install. Our
own form is the same idea with fewer surprises (no host patterns, no plugins, no literal
passwords).
Settings resolve as: `defaults` < group `vars` (groups in file order) < the host itself.
A password is never written in an inventory: `password_env` names an environment variable
that holds it, so inventories can be committed and logged without leaking anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compliance.policy.yaml_source import ConfigError, Key, YamlDocument, load_yaml

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class HostSettings(BaseModel):
    """Connection settings as written; every field optional so that layers can merge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    key: str | None = None
    password_env: str | None = None
    sudo: bool | None = None
    jump: str | None = None
    known_hosts: str | None = None


_FIELDS = tuple(HostSettings.model_fields)


@dataclass(frozen=True)
class Host:
    """One resolved host: everything needed to connect, no secret values."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key: Path | None = None
    password_env: str | None = None
    sudo: bool = False
    jump: Host | None = None
    known_hosts: Path = field(default_factory=lambda: Path(DEFAULT_KNOWN_HOSTS).expanduser())
    groups: tuple[str, ...] = ()

    def password(self) -> str | None:
        """The password from the environment, read at connect time and never stored."""
        if not self.password_env:
            return None
        return os.environ.get(self.password_env)

    def display(self) -> str:
        return f"{self.name} ({self.user}@{self.address}:{self.port})"


@dataclass(frozen=True)
class Inventory:
    path: Path
    name: str
    hosts: tuple[Host, ...]
    groups: Mapping[str, tuple[str, ...]]
    format: str  # "compliance" | "ansible"

    def limit(self, names: Sequence[str]) -> tuple[Host, ...]:
        """Hosts named, or in the groups named (comma-separated allowed); error on unknown."""
        wanted: list[str] = [n.strip() for item in names for n in item.split(",") if n.strip()]
        if not wanted:
            return self.hosts
        by_name = {h.name: h for h in self.hosts}
        chosen: dict[str, Host] = {}
        unknown = []
        for name in wanted:
            if name in by_name:
                chosen[name] = by_name[name]
            elif name in self.groups:
                for member in self.groups[name]:
                    chosen[member] = by_name[member]
            else:
                unknown.append(name)
        if unknown:
            raise ConfigError(
                [
                    f"{self.path}: --hosts {', '.join(unknown)}: no such host or group "
                    f"(groups: {', '.join(sorted(self.groups)) or 'none'})"
                ]
            )
        return tuple(h for h in self.hosts if h.name in chosen)


ANSIBLE_TIMEOUT = 120.0
"""Seconds `ansible-inventory --list` may take (it imports all of Ansible: ~2 s)."""
AUTO = "auto"


def ansible_inventory_command() -> str | None:
    """The `ansible-inventory` of our own environment first, else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible-inventory"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ansible-inventory")


def load_inventory(path: Path, *, ansible: str | None = AUTO) -> Inventory:
    """`ansible`: the ansible-inventory command to read Ansible inventories with, None for
    our own reader only, or AUTO (found as `ansible_inventory_command` does)."""
    command = ansible_inventory_command() if ansible == AUTO else ansible
    if path.is_dir():
        return _through_ansible(path, command, "a directory inventory")
    if not path.exists():
        raise ConfigError([f"{path}: inventory not found"])
    try:
        doc = load_yaml(path, what="inventory")
    except ConfigError as exc:
        if path.suffix in (".yml", ".yaml"):
            raise
        if command is None:
            raise ConfigError(
                [
                    f"{exc.problems[0]}; if it is an Ansible INI inventory, it is read through "
                    "ansible-inventory, which is not installed: pip install ansible-core"
                ]
            ) from None
        return _through_ansible(path, command, "an INI inventory")  # not YAML: Ansible's INI
    data = doc.data
    if isinstance(data, str | list) and path.suffix not in (".yml", ".yaml"):
        return _through_ansible(path, command, "an INI inventory")  # `[web]` lines parse as YAML
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            [doc.problem((), "an inventory is a mapping with `hosts:` (or Ansible's `all:`)")]
        )
    if "hosts" in data or "defaults" in data or "groups" in data:
        return _resolve(doc, _read_native(doc, data), "compliance")
    raw = _read_ansible(doc, data)  # file:line errors (a literal password) even with Ansible
    if command is not None:
        return _through_ansible(path, command, "an Ansible inventory")
    beside = [d for d in ("group_vars", "host_vars") if (path.parent / d).is_dir()]
    if beside:
        raise ConfigError(
            [
                f"{path}: {' and '.join(beside)}/ beside this inventory would change its hosts' "
                "settings, and only Ansible reads them: install ansible-core (ansible-inventory) "
                "or move the settings into the inventory"
            ]
        )
    return _resolve(doc, raw, "ansible")


class _ListingDocument(YamlDocument):
    """Problems in what `ansible-inventory --list` printed: named by host and variable
    (the listing has no lines of the files Ansible merged)."""

    def problem(self, key: Sequence[str | int], message: str) -> str:
        dotted = ".".join(str(part) for part in key) or "(top level)"
        return f"{self.path}: {dotted} (as ansible-inventory reads it): {message}"


def _through_ansible(path: Path, command: str | None, what: str) -> Inventory:
    if command is None:
        raise ConfigError(
            [
                f"{path}: {what} is read through ansible-inventory, which is not installed: "
                "pip install ansible-core (or write the inventory in YAML)"
            ]
        )
    listing = _ansible_listing(path, command)
    doc = _ListingDocument(path, listing)
    return _resolve(doc, _read_listing(doc, listing), "ansible")


def _ansible_listing(path: Path, command: str) -> Any:
    """Ansible's own reading of the inventory, as JSON. Only the ini, yaml and toml
    inventory plugins (an executable inventory script is never run); a source Ansible
    cannot parse fails instead of being skipped with a warning; no ansible.cfg is read."""
    with tempfile.TemporaryDirectory(prefix="compliance-ansible-") as tmp:
        config = Path(tmp) / "ansible.cfg"
        config.write_text("[defaults]\n")  # not the ansible.cfg of the cwd or of ~
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(config),
            "ANSIBLE_INVENTORY_ENABLED": "ini,yaml,toml",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
            "ANSIBLE_HOME": tmp,
            "ANSIBLE_LOCAL_TEMP": tmp,
            "ANSIBLE_NOCOLOR": "1",
            # Ansible refuses to start under a non-UTF-8 locale (LC_ALL=C in cron, CI)
            "LC_ALL": "C.UTF-8",
            "PYTHONWARNINGS": "ignore",
        }
        try:
            done = subprocess.run(
                [command, "-i", str(path), "--list"],
                capture_output=True,
                text=True,
                timeout=ANSIBLE_TIMEOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(
                [f"{path}: ansible-inventory did not finish in {ANSIBLE_TIMEOUT:.0f} s"]
            ) from None
        except OSError as exc:
            raise ConfigError([f"{path}: cannot run {command}: {exc}"]) from None
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if "ERROR" in line or "rror" in line]
        reason = (said or done.stderr.strip().splitlines() or ["no message"])[-1][:300]
        raise ConfigError(
            [f"{path}: ansible-inventory could not read it (exit {done.returncode}): {reason}"]
        )
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ConfigError(
            [f"{path}: ansible-inventory printed something that is not JSON: {done.stdout[:200]!r}"]
        ) from None


def _read_listing(doc: YamlDocument, listing: Any) -> _Raw:
    """`ansible-inventory --list` → our layers. Ansible has already merged group_vars,
    host_vars and group precedence into each host's variables."""
    if not isinstance(listing, dict):
        raise ConfigError([doc.problem((), "ansible-inventory printed no inventory mapping")])
    meta = listing.get("_meta", {})
    hostvars = meta.get("hostvars", {}) if isinstance(meta, dict) else None
    if not isinstance(hostvars, dict):
        raise ConfigError([doc.problem(("_meta",), "ansible-inventory printed no hostvars")])
    groups = {
        str(name): body
        for name, body in listing.items()
        if name != "_meta" and isinstance(body, dict)
    }

    def members(name: str, seen: tuple[str, ...]) -> list[str]:
        body = groups.get(name, {})
        found = [str(h) for h in body.get("hosts", []) or []]
        for child in body.get("children", []) or []:
            if str(child) not in seen:
                found += [h for h in members(str(child), (*seen, str(child))) if h not in found]
        return found

    raw = _Raw()
    for name in [*hostvars, *(h for g in groups for h in members(g, (g,)))]:
        if name not in raw.layers:
            values = hostvars.get(name) or {}
            key: Key = ("hosts", name)
            raw.layers[name] = [
                (_ansible_vars(doc, _mapping(doc, values, key, "host vars"), key), key)
            ]
    for name in groups:
        if name == "all":
            continue
        found = members(name, (name,))
        if found or name != "ungrouped":
            raw.groups[name] = found
    return raw


@dataclass
class _Raw:
    """Layers per host before merging: (settings, key path for errors) in precedence order."""

    layers: dict[str, list[tuple[dict[str, Any], Key]]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    group_vars: dict[str, tuple[dict[str, Any], Key]] = field(default_factory=dict)
    defaults: tuple[dict[str, Any], Key] = ({}, ())


def _mapping(doc: YamlDocument, value: Any, key: Key, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError([doc.problem(key, f"{what} must be a mapping")])
    return value


def _read_native(doc: YamlDocument, data: dict[str, Any]) -> _Raw:
    problems = [
        doc.problem((k,), "unknown key; an inventory has version, defaults, hosts, groups")
        for k in data
        if k not in ("version", "defaults", "hosts", "groups")
    ]
    if problems:
        raise ConfigError(problems)
    raw = _Raw()
    raw.defaults = (_mapping(doc, data.get("defaults"), ("defaults",), "defaults"), ("defaults",))
    hosts = _mapping(doc, data.get("hosts"), ("hosts",), "hosts")
    for name, settings in hosts.items():
        key: Key = ("hosts", name)
        raw.layers[str(name)] = [(_mapping(doc, settings, key, "a host"), key)]
    for gname, group in _mapping(doc, data.get("groups"), ("groups",), "groups").items():
        gkey: Key = ("groups", gname)
        body = _mapping(doc, group, gkey, "a group")
        for k in body:
            if k not in ("hosts", "vars"):
                raise ConfigError([doc.problem((*gkey, k), "unknown key; a group has hosts, vars")])
        members = body.get("hosts") or []
        if not isinstance(members, list):
            raise ConfigError([doc.problem((*gkey, "hosts"), "a list of host names")])
        for i, member in enumerate(members):
            if str(member) not in raw.layers:
                raise ConfigError(
                    [doc.problem((*gkey, "hosts", i), f"{member!r} is not in `hosts:`")]
                )
        raw.groups[str(gname)] = [str(m) for m in members]
        vars_key: Key = (*gkey, "vars")
        raw.group_vars[str(gname)] = (_mapping(doc, body.get("vars"), vars_key, "vars"), vars_key)
    return raw


_ANSIBLE_MAP = {
    "ansible_host": "address",
    "ansible_ssh_host": "address",
    "ansible_port": "port",
    "ansible_ssh_port": "port",
    "ansible_user": "user",
    "ansible_ssh_user": "user",
    "ansible_ssh_private_key_file": "key",
    "ansible_become": "sudo",
}
_ANSIBLE_SECRETS = ("ansible_password", "ansible_ssh_pass", "ansible_become_password")


def _ansible_vars(doc: YamlDocument, values: dict[str, Any], key: Key) -> dict[str, Any]:
    """Translate the connection variables we understand; ignore the rest (ops keep many)."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        if name in _ANSIBLE_SECRETS:
            raise ConfigError(
                [
                    doc.problem(
                        (*key, name),
                        "a literal password in the inventory is refused; put it in an "
                        "environment variable and set compliance_password_env to its name",
                    )
                ]
            )
        if name in _ANSIBLE_MAP:
            result[_ANSIBLE_MAP[name]] = value
        elif isinstance(name, str) and name.startswith("compliance_"):
            field_name = name.removeprefix("compliance_")
            if field_name not in _FIELDS:
                raise ConfigError(
                    [
                        doc.problem(
                            (*key, name), f"unknown; use compliance_ + one of {', '.join(_FIELDS)}"
                        )
                    ]
                )
            result[field_name] = value
    return result


def _read_ansible(doc: YamlDocument, data: dict[str, Any]) -> _Raw:
    raw = _Raw()

    def walk(gname: str, body: Any, key: Key, parents: tuple[str, ...]) -> None:
        body = _mapping(doc, body, key, "an Ansible group")
        for k in body:
            if k not in ("hosts", "vars", "children"):
                raise ConfigError(
                    [
                        doc.problem(
                            (*key, k), "unknown key; an Ansible group has hosts, vars, children"
                        )
                    ]
                )
        vars_key: Key = (*key, "vars")
        if gname not in raw.group_vars:
            raw.group_vars[gname] = (
                _ansible_vars(doc, _mapping(doc, body.get("vars"), vars_key, "vars"), vars_key),
                vars_key,
            )
        raw.groups.setdefault(gname, [])
        for pattern, hvars in _mapping(doc, body.get("hosts"), (*key, "hosts"), "hosts").items():
            hkey: Key = (*key, "hosts", pattern)
            settings = _ansible_vars(doc, _mapping(doc, hvars, hkey, "host vars"), hkey)
            try:
                names = expand_host_pattern(str(pattern))
            except ValueError as exc:
                raise ConfigError([doc.problem(hkey, str(exc))]) from None
            for hname in names:
                raw.layers.setdefault(hname, []).append((settings, hkey))
                for group in (*parents, gname):
                    if hname not in raw.groups.setdefault(group, []):
                        raw.groups[group].append(hname)
        children = _mapping(doc, body.get("children"), (*key, "children"), "children")
        for child, child_body in children.items():
            walk(str(child), child_body, (*key, "children", child), (*parents, gname))

    for gname, body in data.items():
        walk(str(gname), body, (gname,), ())
    if "all" in raw.group_vars:
        raw.defaults = raw.group_vars.pop("all")
        raw.groups.pop("all", None)
    return raw


_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")
RANGE_LIMIT = 100_000
"""Hosts one pattern may name (a typo like `[1:9999999]` would otherwise eat memory)."""


def expand_host_pattern(pattern: str) -> list[str]:
    """Ansible's host ranges: `web[01:03]` → web01 web02 web03 (a leading zero keeps the
    width), `db-[a:c]`, a stride `[0:10:5]`, several ranges in one name."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, stride = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[: match.start()], pattern[match.end() :]
    numeric = start.isdigit() and end.isdigit()
    if numeric:
        first, last = int(start), int(end)
    elif len(start) == 1 == len(end) and start.isalpha() and end.isalpha():
        first, last = ord(start), ord(end)
    else:
        raise ValueError(f"host range {match.group(0)}: give numbers or single letters")
    steps = range(first, last + 1, stride or 1)
    if not steps or stride == 0:
        raise ValueError(f"host range {match.group(0)} names no host (start after end?)")
    rests = expand_host_pattern(tail)
    if len(steps) * len(rests) > RANGE_LIMIT:  # counted before any name is made
        raise ValueError(f"host range {match.group(0)} names more than {RANGE_LIMIT} hosts")
    width = len(start) if numeric and start.startswith("0") and len(start) > 1 else 0
    items = [f"{i:0{width}d}" if numeric else chr(i) for i in steps]
    return [f"{head}{item}{rest}" for item in items for rest in rests]


def _validate(doc: YamlDocument, values: dict[str, Any], key: Key) -> HostSettings:
    env = values.get("password_env")
    if env is not None and not (isinstance(env, str) and env.replace("_", "").isalnum()):
        # checked here, not by pydantic, so that the value (maybe a password) is never echoed
        raise ConfigError(
            [
                doc.problem(
                    (*key, "password_env"),
                    "names an environment variable (e.g. AUDIT_SSH_PASSWORD), never the "
                    "password itself",
                )
            ]
        )
    try:
        return HostSettings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(doc.validation_problems(exc, key)) from None


def _resolve(doc: YamlDocument, raw: _Raw, fmt: str) -> Inventory:
    if not raw.layers:
        raise ConfigError([doc.problem((), "the inventory lists no hosts")])
    base = doc.path.parent
    defaults = _validate(doc, *raw.defaults)
    merged: dict[str, tuple[HostSettings, Key]] = {}
    for name, layers in raw.layers.items():
        if not name.strip():
            raise ConfigError([doc.problem(layers[-1][1], "a host needs a name")])
        values = defaults.model_dump(exclude_none=True)
        for gname, members in raw.groups.items():
            if name in members and gname in raw.group_vars:
                values.update(_validate(doc, *raw.group_vars[gname]).model_dump(exclude_none=True))
        for settings, key in layers:
            values.update(_validate(doc, settings, key).model_dump(exclude_none=True))
        merged[name] = (HostSettings.model_validate(values), layers[-1][1])

    built: dict[str, Host] = {}

    def build(name: str, chain: tuple[str, ...]) -> Host:
        if name in built:
            return built[name]
        settings, key = merged[name]
        jump = None
        if settings.jump:
            if settings.jump not in merged:
                raise ConfigError(
                    [
                        doc.problem(
                            (*key, "jump"), f"jump host {settings.jump!r} is not in the inventory"
                        )
                    ]
                )
            if settings.jump in chain:
                loop = " -> ".join((*chain, settings.jump))
                raise ConfigError([doc.problem((*key, "jump"), f"jump hosts form a loop: {loop}")])
            jump = build(settings.jump, (*chain, settings.jump))
        host = Host(
            name=name,
            address=settings.address or name,
            port=settings.port or 22,
            user=settings.user or "root",
            key=_path(base, settings.key) if settings.key else None,
            password_env=settings.password_env,
            sudo=bool(settings.sudo),
            jump=jump,
            known_hosts=_path(base, settings.known_hosts or DEFAULT_KNOWN_HOSTS),
            groups=tuple(g for g, members in raw.groups.items() if name in members),
        )
        built[name] = host
        return host

    hosts = tuple(build(name, (name,)) for name in merged)
    return Inventory(
        path=doc.path,
        name=doc.path.stem,
        hosts=hosts,
        groups={g: tuple(m) for g, m in raw.groups.items()},
        format=fmt,
    )


def _path(base: Path, value: str) -> Path:
    """`~` expands; a relative path is relative to the inventory file, not the cwd."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def host_names(hosts: Iterable[Host]) -> list[str]:
    return [h.name for h in hosts]
