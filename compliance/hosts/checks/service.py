"""`service`: a systemd unit active and/or enabled (or, for legacy services, neither).

`name` may list alternatives (`[chrony, chronyd, systemd-timesyncd]`): `active: true`
holds when any is active, `active: false` when none is; `single: true` asks that exactly
one of them is active (CIS: a single time daemon, a single firewall utility). A host not
running systemd cannot answer and gets an error, never a silent pass; a policy that also
audits such hosts says so with `when:`.
"""

from __future__ import annotations

import re
import shlex

from pydantic import field_validator, model_validator

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    Params,
    Verdict,
    failed_section,
)

_UNIT = re.compile(r"^[A-Za-z0-9@._:-]+$")
NO_SYSTEMD = 3
ENABLED = ("enabled", "enabled-runtime")


class ServiceParams(Params):
    name: tuple[str, ...]
    active: bool | None = None
    enabled: bool | None = None
    single: bool = False

    @field_validator("name", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        names = [value] if isinstance(value, str) else value
        if isinstance(names, list | tuple):
            for name in names:
                if not isinstance(name, str) or not _UNIT.match(name):
                    raise ValueError(f"{name!r} is not a systemd unit name")
        return names

    @model_validator(mode="after")
    def _something(self) -> ServiceParams:
        if self.active is None and self.enabled is None:
            raise ValueError("give active: true|false and/or enabled: true|false")
        if self.single and self.active is not True:
            raise ValueError("single: true means exactly one is active: give active: true")
        return self


class Service(CheckKind[ServiceParams]):
    name = "service"
    params = ServiceParams

    def section(self, params: ServiceParams, budget: float) -> Section:
        names = " ".join(shlex.quote(n) for n in params.name)
        script = (
            f"[ -d /run/systemd/system ] || exit {NO_SYSTEMD}\n"
            f"for u in {names}; do\n"
            # tab-separated: `is-enabled` prints nothing for a unit it does not know (systemd
            # 252: only a message on stderr), and an empty field must stay a field
            '  printf \'%s\\t%s\\t%s\\t%s\\n\' "$u" "$(systemctl is-active -- "$u" 2>/dev/null)" '
            '"$(systemctl is-enabled -- "$u" 2>/dev/null)"'
            # single: the unit's real name, so an alias (Debian's chronyd.service for
            # chrony.service) is not counted as a second daemon
            + (' "$(systemctl show -p Id --value -- "$u" 2>/dev/null)"' if params.single else "")
            + "\ndone"
        )
        return Section(script, budget, 4096)

    def evaluate(self, params: ServiceParams, result: SectionResult) -> Verdict:
        names = "|".join(params.name)
        wanted = []
        if params.active is not None:
            wanted.append(
                "exactly one active"
                if params.single
                else "active"
                if params.active
                else "not active"
            )
        if params.enabled is not None:
            wanted.append("enabled" if params.enabled else "not enabled")
        expected = f"{names}: " + ", ".join(wanted)
        if result.status == NO_SYSTEMD:
            return Verdict(
                CheckStatus.ERROR,
                "systemd is not running",
                expected,
                "systemd is not PID 1 on this host, so unit state cannot be read",
            )
        if result.status != 0:
            return failed_section(result, "systemctl")
        states, ids = {}, {}
        for line in result.output.splitlines():
            parts = [part.strip() for part in line.split("\t")]
            if len(parts) > 3 and parts[3]:
                ids[parts[0]] = parts[3]
            if parts[0]:
                states[parts[0]] = (
                    parts[1] if len(parts) > 1 and parts[1] else "unknown",
                    parts[2] if len(parts) > 2 and parts[2] else "not-found",
                )
        observed = "; ".join(f"{u} {a}/{e}" for u, (a, e) in states.items())
        any_active = any(a == "active" for a, _ in states.values())
        any_enabled = any(e in ENABLED for _, e in states.values())
        problems = []
        running = list(
            dict.fromkeys(ids.get(u, u) for u, (a, _) in states.items() if a == "active")
        )
        if params.single and len(running) > 1:
            problems.append(f"{len(running)} active: {', '.join(running)}")
        if params.active is not None and any_active != params.active:
            problems.append("active" if any_active else "not active")
        if params.enabled is not None and any_enabled != params.enabled:
            problems.append("enabled" if any_enabled else "not enabled")
        status = CheckStatus.FAIL if problems else CheckStatus.PASS
        return Verdict(status, observed, expected, ", ".join(problems))
