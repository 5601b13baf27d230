"""The policy file as typed models. What is *reported* and what *blocks* are separate.

Every default here is the safe one: unknown severities count as high, every class of error
stops the gate, nothing is downgraded unless a reviewer wrote it in the policy.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from compliance.findings import Severity
from compliance.weakness import Overrides

SeverityField = Annotated[
    Severity,
    BeforeValidator(Severity.parse),
    PlainSerializer(lambda s: s.label, return_type=str),
]

DEFAULT_SLA_DAYS = {
    Severity.CRITICAL: 7,
    Severity.HIGH: 30,
    Severity.MEDIUM: 90,
    Severity.LOW: 120,
}

ERROR_KINDS = (
    "scanner.missing",
    "scanner.crash",
    "scanner.timeout",
    "scanner.output",
    "scanner.parse",
    "coverage",
    "dependencies.skipped",
    "dependencies.unpinned",
    "hosts.unreachable",
    "hosts.check",
    "baseline",
    "waivers",
)
"""Classes of error a policy may downgrade to a warning, one by one (never by default)."""

# The defaults of policies/default.yml, key by key: a policy file that leaves a key out gets
# exactly what the shipped file says (tests/test_policy.py compares the two field by field).
DEFAULT_SCANNERS = ("bandit", "semgrep", "pip-audit")
DEFAULT_EXCLUDE = ("/.venv/", "/venv/", "/node_modules/", "/.tox/", "/build/", "/dist/")
DEFAULT_REPOSITORY_WAIVERS = ".compliance/waivers.yml"
DEFAULT_WAIVERS_MAX_DAYS = 365
StateKind = Literal["database", "cache", "reports"]
"""The gate's own state a policy may allow inside the scanned tree (`allow_in_tree`)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScannerSettings(Strict):
    """Per-scanner overrides of the gate and of how the tool runs."""

    fail_on: SeverityField | None = None
    min_confidence: SeverityField | None = None
    timeout: float | None = Field(default=None, gt=0)
    exclude: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    """semgrep: rule files or folders, relative to the policy file (default: the shipped pack)."""
    python: str | None = Field(default=None, pattern=r"^(?:(?:python)?3\.\d{1,2}|/\S+)$")
    """bandit: the Python it runs under (`3.13`, `python3.13` or an absolute path); default:
    the newest found that the scanned project's requires-python admits (bandit_python.py)."""


# shared (the model is frozen): the gate asks for a scanner's settings once per finding
_NO_SCANNER_SETTINGS = ScannerSettings()


def _default_per_scanner() -> dict[str, ScannerSettings]:
    """bandit's LOW-confidence findings are mostly noise; the shipped file says so too."""
    return {"bandit": ScannerSettings(min_confidence=Severity.MEDIUM)}


CweKey = Annotated[str, StringConstraints(pattern=r"^CWE-[0-9]{1,5}$")]


class ClassificationSettings(Strict):
    """Overrides of the weakness table's gate severity (weakness.py): by rule id (a bandit
    test id such as B608, a semgrep rule id) or by CWE (`CWE-89`). A rule wins over its CWE."""

    rules: dict[str, SeverityField] = Field(default_factory=dict)
    cwe: dict[CweKey, SeverityField] = Field(default_factory=dict)
    sinks: Literal["block", "confirmed"] = "confirmed"
    """What an injection sink seen alone means (weakness.py): block only what a taint rule
    confirms (shipped), or block it whatever flows in."""

    def overrides(self) -> Overrides:
        return Overrides(
            dict(self.rules),
            {int(key.removeprefix("CWE-")): s for key, s in self.cwe.items()},
            self.sinks,
        )


class ReportSettings(Strict):
    min_severity: SeverityField = Severity.INFO


class GateSettings(Strict):
    fail_on: SeverityField = Severity.HIGH
    min_confidence: SeverityField = Severity.LOW
    max_counts: dict[SeverityField, int] = Field(default_factory=dict)
    overdue: Literal["fail", "warn"] = "warn"


HOST_SCANNER = "host"
"""The scanner name host checks carry (host_audit.SCANNER): judged by `hosts:`, not `gate:`."""


def _host_fail_on(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none"
    return Severity.parse(value)  # type: ignore[arg-type]


class HostGateSettings(Strict):
    """What makes a host audit block (exit 1). By default every failed check does, as
    InSpec and OpenSCAP do; a policy may instead block by severity or by score."""

    fail_on: Annotated[
        Severity | Literal["none"] | None,
        BeforeValidator(lambda v: None if v is None else _host_fail_on(v)),
        PlainSerializer(lambda s: s.label if isinstance(s, Severity) else s),
    ] = None
    """Failed checks at or above this severity block; `none`: no single failed check
    blocks (the scores decide). Unset: `info` (every failed check) unless a minimum score is
    set, then `none`."""
    min_score: float | None = Field(default=None, ge=0, le=100)
    """A host whose score (passed / (passed + failed) x 100, as Wazuh's) is below blocks."""
    min_framework_score: dict[str, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict
    )
    """Per framework (a references key such as cis-debian-12 or pci_dss): a host whose
    score over the checks citing it is below blocks."""

    def threshold(self) -> Severity | None:
        """The severity at which one failed check blocks; None: none does."""
        if isinstance(self.fail_on, Severity):
            return self.fail_on
        if self.fail_on == "none":
            return None
        if self.min_score is not None or self.min_framework_score:
            return None
        return Severity.INFO

    def describe(self) -> str:
        """The rule in force, as the summary states it."""
        threshold = self.threshold()
        parts = []
        if threshold is Severity.INFO:
            parts.append("every failed check blocks")
        elif threshold is not None:
            parts.append(f"failed checks of severity {threshold.label} or above block")
        else:
            parts.append("no single failed check blocks (hosts.fail_on: none)")
        if self.min_score is not None:
            parts.append(f"a host scoring below {self.min_score:g} blocks (hosts.min_score)")
        for name, score in sorted(self.min_framework_score.items()):
            parts.append(
                f"a host scoring below {score:g} on {name} blocks (hosts.min_framework_score)"
            )
        return "; ".join(parts)


class DependencySettings(Strict):
    """How dependencies are audited (pip-audit) and when their advisories block."""

    only_fixable: bool = False
    """True: an advisory with no fixed version is reported but does not block."""
    environment: bool = False
    """True: also audit the packages installed for the Python running the gate."""
    osv_url: str | None = None
    """An OSV-compatible `/v1/query` URL (e.g. a shared `compliance advisories serve`)."""
    engine: Literal["index", "pip-audit"] | None = None
    """Who matches the pins against the advisories. `index`: the gate itself, in-process,
    against the local database's index (`--advisory-db`), as pip-audit would match them
    (compliance/scanners/index_audit.py); `pip-audit`: pip-audit runs against the
    advisory service (the local mirror, `osv_url` or api.osv.dev). None: `index` when the
    database is local and `environment` is off, else `pip-audit`."""
    index_url: str | None = None
    """A package index (PEP 503 simple URL) the pipeline trusts: unpinned requirements are
    resolved against it as pip would, transitively, and audited. None: an unpinned
    requirement is a `dependencies.unpinned` error. Never an index the scanned tree names."""


class ExceptionSettings(Strict):
    """How exceptions written in the source itself are governed."""

    new_inline_suppressions: Literal["block", "allow"] = "block"
    """In diff-aware mode, a `# nosec`/`# nosemgrep` the baseline did not have: `block`
    judges the finding as if unsuppressed (a waiver is the reviewed way to accept it);
    `allow` lets it hide the finding (it stays listed as suppressed)."""


class Policy(Strict):
    version: Literal[1] = 1
    scanners: tuple[str, ...] = DEFAULT_SCANNERS
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    timeout: float = Field(default=900, gt=0)
    unknown_severity: SeverityField = Severity.HIGH
    report: ReportSettings = ReportSettings()
    gate: GateSettings = GateSettings()
    hosts: HostGateSettings = HostGateSettings()
    """What blocks a host audit (`compliance audit`); `gate:` judges code scans."""
    per_scanner: dict[str, ScannerSettings] = Field(default_factory=_default_per_scanner)
    """Replaces the default as a whole: a policy that sets it keeps only what it names."""
    dependencies: DependencySettings = DependencySettings()
    exceptions: ExceptionSettings = ExceptionSettings()
    classification: ClassificationSettings = ClassificationSettings()
    errors: dict[str, Literal["error", "warn"]] = Field(default_factory=dict)
    sla_days: dict[SeverityField, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    waivers: str | None = "waivers.yml"
    """The pipeline's own waiver file, relative to this policy file (trusted as given)."""
    repository_waivers: str | None = DEFAULT_REPOSITORY_WAIVERS
    """The scanned tree's waiver file, relative to its root: untrusted, so every waiver in
    it is checked when read (see policy/waiver_rules.py). None: not read."""
    waivers_max_days: int = Field(default=DEFAULT_WAIVERS_MAX_DAYS, ge=1)
    """The longest a waiver may run, from its `created` date (`compliance waive` enforces it;
    the repository's waivers are held to it when read)."""
    host_policies: tuple[str, ...] = ("hosts/linux-baseline.yml",)
    """Host policy files `compliance audit` uses without --policy, relative to this file."""
    repository_config: Literal["ignore", "report", "apply"] = "report"
    """The scanned tree's own scanner settings (`.bandit`, `[tool.bandit]`, a bandit
    baseline, `.semgrepignore` …): `ignore` (not read), `report` (not applied; the scan lists
    what they would change) or `apply` (bandit's applied, every skipped test and excluded
    file listed). The tree is not trusted, so nothing it says applies by default."""
    allow_in_tree: tuple[StateKind, ...] = ()
    """State `compliance scan` may keep inside the scanned tree (default: none). Tracked,
    symlinked or special files there are refused whatever this says."""

    def scanner(self, name: str) -> ScannerSettings:
        return self.per_scanner.get(name, _NO_SCANNER_SETTINGS)

    def fail_on(self, scanner: str) -> Severity:
        return self.scanner(scanner).fail_on or self.gate.fail_on

    def blocking_threshold(self, scanner: str) -> Severity | None:
        """The severity at which one open finding of `scanner` blocks (None: none does).
        Host checks are judged by `hosts.fail_on`, everything else by `fail_on`."""
        if scanner == HOST_SCANNER:
            return self.hosts.threshold()
        return self.fail_on(scanner)

    def min_confidence(self, scanner: str) -> Severity:
        return self.scanner(scanner).min_confidence or self.gate.min_confidence

    def timeout_for(self, scanner: str) -> float:
        return self.scanner(scanner).timeout or self.timeout

    def treats_as_warning(self, error_kind: str) -> bool:
        """True only when the policy names this class (or its parent) as 'warn'."""
        probe = error_kind
        while probe:
            if self.errors.get(probe) == "warn":
                return True
            probe = probe.rpartition(".")[0]
        return False
