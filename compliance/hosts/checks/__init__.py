"""Check kinds: a new kind is one file in this package and one line here."""

from __future__ import annotations

from typing import Any

from compliance.hosts.checks.command import Command
from compliance.hosts.checks.config_value import ConfigValue
from compliance.hosts.checks.file_absent import FileAbsent
from compliance.hosts.checks.file_content import FileContent
from compliance.hosts.checks.file_mode import FileMode
from compliance.hosts.checks.interface import CheckKind, CheckStatus, Params, Verdict
from compliance.hosts.checks.listening_ports import ListeningPorts
from compliance.hosts.checks.local_users import LocalUsers
from compliance.hosts.checks.mount_options import MountOptions
from compliance.hosts.checks.package import Package
from compliance.hosts.checks.service import Service
from compliance.hosts.checks.sshd_config import SshdConfig
from compliance.hosts.checks.sysctl import Sysctl
from compliance.hosts.wazuh.kind import WazuhSca

REGISTRY: dict[str, CheckKind[Any]] = {
    kind.name: kind
    for kind in (
        FileContent(),
        ConfigValue(),
        FileMode(),
        FileAbsent(),
        Command(),
        Sysctl(),
        SshdConfig(),
        Package(),
        Service(),
        ListeningPorts(),
        LocalUsers(),
        MountOptions(),
        WazuhSca(),
    )
}

__all__ = ["REGISTRY", "CheckKind", "CheckStatus", "Params", "Verdict"]
