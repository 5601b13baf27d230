"""Load a Wazuh SCA policy file (4.x or 5.x form) into host checks, or say file:line why not.

The two forms differ in small ways: checks and requirements are titled by `title` (4.x)
or `name` (5.x); compliance mappings are a list of one-key maps (4.x) or one map (5.x);
4.x matches with OS_Regex unless `regex_type: pcre2`, 5.x always with PCRE2. Keys Wazuh
does not read at check level (impact, mitre, a misspelt `referencces`) are ignored, as
Wazuh ignores them; everything Wazuh needs to evaluate a check is validated here, so a
policy that loads is a policy that runs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.findings import Severity
from compliance.hosts.policy import CheckMeta, HostCheck, HostPolicy
from compliance.hosts.wazuh.collect import plan
from compliance.hosts.wazuh.kind import Program, RuleSet, WazuhParams
from compliance.hosts.wazuh.rules import Dialect, Rule, RuleError, parse_rule
from compliance.policy.yaml_source import ConfigError, YamlDocument, load_yaml

_log = logging.getLogger(__name__)
TOP_LEVEL = ("policy", "requirements", "variables", "checks")
CONDITIONS = {"all": "all", "any": "any", "none": "none", "all required": "all"}
CONDITIONS["any required"] = "any"
_ID = re.compile(r"[^A-Za-z0-9_.-]+")
_SECTION = re.compile(r"^\s*#+\s*(\d+(?:\.\d+)+)\s")
MAX_RULES = 255
COMMAND_TIMEOUT = 30.0
"""Seconds per command, as the Wazuh agent's default `sca.commands_timeout`."""


def is_wazuh_policy(data: Any) -> bool:
    """A Wazuh SCA file has a `policy:` mapping beside `checks:`; ours has `name:`."""
    return isinstance(data, dict) and isinstance(data.get("policy"), dict)


@dataclass(frozen=True)
class WazuhPolicy:
    policy: HostPolicy
    program: Program
    warnings: tuple[str, ...]
    """file:line: warning: … for rules Wazuh reads in a surprising way (still loaded)."""
    unsupported: tuple[str, ...] = ()
    """file:line: … for checks that cannot run (each is an error on every host)."""


def load_wazuh_policy(path: Path, *, command_timeout: float = COMMAND_TIMEOUT) -> WazuhPolicy:
    return read_wazuh_policy(load_yaml(path, what="Wazuh SCA policy"), command_timeout)


def read_wazuh_policy(doc: YamlDocument, command_timeout: float = COMMAND_TIMEOUT) -> WazuhPolicy:
    loaded = _Loader(doc).load(command_timeout)
    for warning in loaded.warnings:  # shown on stderr even where nothing configures logging
        _log.warning("%s", warning)
    for problem in loaded.unsupported:
        _log.warning("%s (this check is an error on every host; the others run)", problem)
    return loaded


class _Loader:
    def __init__(self, doc: YamlDocument):
        self.doc = doc
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, key: tuple[str | int, ...], message: str) -> None:
        self.problems.append(self.doc.problem(key, message))

    def load(self, command_timeout: float) -> WazuhPolicy:
        doc = self.doc
        data = doc.data
        if not is_wazuh_policy(data):
            raise ConfigError([doc.problem((), "a Wazuh SCA policy has policy: and checks:")])
        for key in data:
            if key not in TOP_LEVEL:
                self.problem((key,), f"unknown top-level key; a Wazuh policy has {TOP_LEVEL}")
        header = data["policy"]
        policy_id = self._text(header, ("policy",), "id")
        name = self._text(header, ("policy",), "name")
        description = header.get("description", "")
        dialect = self._dialect(header, ("policy",), default="pcre2")
        variables = self._variables(data.get("variables"))
        raw_checks = data.get("checks")
        if not isinstance(raw_checks, list) or not raw_checks:
            self.problem(("checks",), "checks: must be a non-empty list")
            raw_checks = []
        form_4x = self._is_4x(raw_checks)
        if "regex_type" not in header and form_4x:
            dialect = "osregex"  # the 4.x engine's default
        requirements = None
        if "requirements" in data:
            requirements = self._rule_set(
                data["requirements"], ("requirements",), "requirements", variables, dialect
            )
        checks: list[RuleSet] = []
        unsupported: list[str] = []
        metas: list[CheckMeta] = []
        seen: dict[int, int] = {}
        for index, raw in enumerate(raw_checks):
            key = ("checks", index)
            if not isinstance(raw, dict):
                self.problem(key, "each check is a mapping with id, title/name, condition, rules")
                continue
            check_id = raw.get("id")
            if isinstance(check_id, bool) or not isinstance(check_id, int) or check_id <= 0:
                self.problem((*key, "id"), f"check id must be a positive integer, got {check_id!r}")
                continue
            if check_id in seen:
                self.problem(
                    (*key, "id"),
                    f"duplicate check id {check_id} (first at checks[{seen[check_id]}])",
                )
                continue
            seen[check_id] = index
            check_dialect = self._dialect(raw, key, default=dialect)
            outer, self.problems = self.problems, []
            rule_set = self._rule_set(raw, key, str(check_id), variables, check_dialect)
            own, self.problems = self.problems, outer
            if own or rule_set is None:
                # run the rest of the policy; this check is an error on every host
                unsupported.extend(own)
                title = raw.get("title", raw.get("name"))
                title = title.strip() if isinstance(title, str) and title.strip() else str(check_id)
                rule_set = RuleSet(str(check_id), title, "all", (), tuple(own))
            meta = self._meta(policy_id, check_id, raw, key, rule_set.title)
            if meta is not None:
                checks.append(rule_set)
                metas.append(meta)
        if self.problems:
            raise ConfigError(self.problems)
        all_rules: list[Rule] = [r for c in checks for r in c.rules]
        if requirements is not None:
            all_rules.extend(requirements.rules)
        program = Program(policy_id, requirements, tuple(checks), plan(all_rules, command_timeout))
        host_checks = tuple(
            HostCheck(meta, WazuhParams(program=program, index=i), command_timeout)
            for i, meta in enumerate(metas)
        )
        digest = hashlib.sha256(doc.path.read_bytes()).hexdigest()
        policy = HostPolicy(
            name, doc.path.resolve(), digest, str(description or ""), "error", host_checks
        )
        return WazuhPolicy(policy, program, tuple(self.warnings), tuple(unsupported))

    def _text(self, mapping: dict[str, Any], key: tuple[str | int, ...], name: str) -> str:
        value = mapping.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem((*key, name), f"{name}: is required (a non-empty string)")
            return ""
        return value

    def _dialect(
        self, mapping: dict[str, Any], key: tuple[str | int, ...], default: Dialect
    ) -> Dialect:
        value = mapping.get("regex_type", default)
        if value not in ("pcre2", "osregex"):
            self.problem(
                (*key, "regex_type"), f"regex_type must be pcre2 or osregex, got {value!r}"
            )
            return default
        return value  # type: ignore[no-any-return]

    def _variables(self, raw: Any) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(("variables",), "variables: is a mapping like $sshd_file: /etc/ssh/x")
            return {}
        result: dict[str, str] = {}
        for name, value in raw.items():
            if not isinstance(name, str) or not re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", name):
                self.problem(("variables", name), "a variable name starts with $ (e.g. $sshd_file)")
                continue
            if not isinstance(value, str) or not value.strip():
                self.problem(("variables", name), "a variable's value is a path or a,b,c list")
                continue
            result[name] = value.strip()
        return result

    @staticmethod
    def _is_4x(raw_checks: list[Any]) -> bool:
        """4.x checks have `title:` and list-form compliance; 5.x have `name:` and a map."""
        for raw in raw_checks:
            if isinstance(raw, dict):
                if isinstance(raw.get("compliance"), list):
                    return True
                if isinstance(raw.get("compliance"), dict):
                    return False
                if "title" in raw and "name" not in raw:
                    return True
        return False

    def _rule_set(
        self,
        raw: Any,
        key: tuple[str | int, ...],
        ident: str,
        variables: dict[str, str],
        dialect: Dialect,
    ) -> RuleSet | None:
        if not isinstance(raw, dict):
            self.problem(key, "expected a mapping with title/name, condition and rules")
            return None
        title = raw.get("title", raw.get("name"))
        if not isinstance(title, str) or not title.strip():
            self.problem(key, "title: (or name:) is required")
            return None
        condition = raw.get("condition")
        if condition not in CONDITIONS:
            self.problem(
                (*key, "condition"), f"condition must be all, any or none, got {condition!r}"
            )
            return None
        rules_raw = raw.get("rules")
        if not isinstance(rules_raw, list) or not rules_raw:
            self.problem((*key, "rules"), "rules: must be a non-empty list of rule strings")
            return None
        if len(rules_raw) > MAX_RULES:
            self.problem((*key, "rules"), f"at most {MAX_RULES} rules per check (Wazuh's limit)")
            return None
        rules: list[Rule] = []
        ok = True
        for j, text in enumerate(rules_raw):
            try:
                rule = parse_rule(text, variables, dialect)
            except RuleError as exc:
                self.problem((*key, "rules", j), str(exc))
                ok = False
                continue
            for warning in rule.warnings:
                self.warnings.append(self.doc.problem((*key, "rules", j), f"warning: {warning}"))
            rules.append(rule)
        if not ok:
            return None
        return RuleSet(ident, title.strip(), CONDITIONS[condition], tuple(rules))

    def _meta(
        self,
        policy_id: str,
        check_id: int,
        raw: dict[str, Any],
        key: tuple[str | int, ...],
        title: str,
    ) -> CheckMeta | None:
        references = self._compliance(raw.get("compliance"), (*key, "compliance"))
        section = self._cis_section(key, title)
        if section:
            references.setdefault("cis", []).insert(0, section)
        mitre = raw.get("mitre")
        if isinstance(mitre, dict) and isinstance(mitre.get("technique"), dict):
            ids = mitre["technique"].get("id")
            if isinstance(ids, list):
                references["mitre"] = [str(i) for i in ids]
        texts = {}
        for name in ("description", "rationale", "remediation", "impact"):
            value = raw.get(name, "")
            texts[name] = value if isinstance(value, str) else str(value)
        rationale = texts["rationale"] or texts["description"]
        if texts["impact"]:
            rationale = f"{rationale}\nImpact: {texts['impact']}".strip()
        ident = _ID.sub("_", f"{policy_id}-{check_id}").strip("_.-") or str(check_id)
        return CheckMeta(
            id=ident,
            title=title if len(title) >= 3 else f"{title} ({ident})",
            kind="wazuh_sca",
            severity=Severity.MEDIUM,
            rationale=rationale,
            remediation=texts["remediation"],
            references={k: tuple(v) for k, v in references.items()},
        )

    def _compliance(self, raw: Any, key: tuple[str | int, ...]) -> dict[str, list[str]]:
        """4.x: [{pci_dss: [..]}, {nist_800_53: [..]}]; 5.x: {pci_dss: [..], …}."""
        if raw is None:
            return {}
        items: list[tuple[Any, Any, tuple[str | int, ...]]] = []
        if isinstance(raw, dict):
            items = [(k, v, (*key, k)) for k, v in raw.items()]
        elif isinstance(raw, list):
            for j, entry in enumerate(raw):
                if not isinstance(entry, dict):
                    self.problem((*key, j), 'each compliance entry is a map like pci_dss: ["2.2"]')
                    continue
                items.extend((k, v, (*key, j, k)) for k, v in entry.items())
        else:
            self.problem(key, "compliance: is a map (5.x) or a list of maps (4.x)")
            return {}
        result: dict[str, list[str]] = {}
        for name, values, where in items:
            values = values if isinstance(values, list) else [values]
            if not all(
                isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
            ):
                self.problem(where, "compliance values are control ids (strings)")
                continue
            result.setdefault(str(name), []).extend(str(v) for v in values)
        return result

    def _cis_section(self, key: tuple[str | int, ...], title: str) -> str:
        """The CIS section number: from the title, or from the comment above the check."""
        match = re.match(r"\s*(\d+(?:\.\d+)+)\s", title)
        if match:
            return match.group(1)
        line = self.doc.line_of(key)
        text = _source_lines(self.doc)
        for number in range(line - 2, max(-1, line - 6), -1):
            if number < 0 or number >= len(text):
                break
            stripped = text[number].strip()
            found = _SECTION.match(stripped)
            if found:
                return found.group(1)
            if stripped and not stripped.startswith("#"):
                break
        return ""


def _source_lines(doc: YamlDocument) -> list[str]:
    cached: list[str] | None = getattr(doc, "_wazuh_lines", None)
    if cached is None:
        cached = doc.path.read_text(encoding="utf-8", errors="replace").splitlines()
        object.__setattr__(doc, "_wazuh_lines", cached)
    return cached
