"""Which hosts to audit and how to reach them, from our YAML inventory or an Ansible one.

Ops teams already keep an Ansible inventory, so we read that form as it is; our own form is
the same idea with fewer surprises (no host patterns, no plugins, no literal passwords).
Settings resolve as: `defaults` < group `vars` (groups in file order) < the host itself.
A password is never written in an inventory: `password_env` names an environment variable
that holds it, so inventories can be committed and logged without leaking anything.
"""

from __future__ import annotations

import os
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
                    f"{self.path}: --limit {', '.join(unknown)}: no such host or group "
                    f"(groups: {', '.join(sorted(self.groups)) or 'none'})"
                ]
            )
        return tuple(h for h in self.hosts if h.name in chosen)


def load_inventory(path: Path) -> Inventory:
    doc = load_yaml(path, what="inventory")
    data = doc.data
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            [doc.problem((), "an inventory is a mapping with `hosts:` (or Ansible's `all:`)")]
        )
    if "hosts" in data or "defaults" in data or "groups" in data:
        raw = _read_native(doc, data)
        fmt = "compliance"
    else:
        raw = _read_ansible(doc, data)
        fmt = "ansible"
    return _resolve(doc, raw, fmt)


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
        for hname, hvars in _mapping(doc, body.get("hosts"), (*key, "hosts"), "hosts").items():
            hkey: Key = (*key, "hosts", hname)
            settings = _ansible_vars(doc, _mapping(doc, hvars, hkey, "host vars"), hkey)
            raw.layers.setdefault(str(hname), []).append((settings, hkey))
            for group in (*parents, gname):
                if str(hname) not in raw.groups.setdefault(group, []):
                    raw.groups[group].append(str(hname))
        children = _mapping(doc, body.get("children"), (*key, "children"), "children")
        for child, child_body in children.items():
            walk(str(child), child_body, (*key, "children", child), (*parents, gname))

    for gname, body in data.items():
        walk(str(gname), body, (gname,), ())
    if "all" in raw.group_vars:
        raw.defaults = raw.group_vars.pop("all")
        raw.groups.pop("all", None)
    return raw


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
