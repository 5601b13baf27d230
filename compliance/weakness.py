"""What blocks is what a finding *is*: one table maps every bandit test and shipped semgrep
rule to a CWE, a weakness class and a gate severity (docs/weakness-classes.md).

Bandit rates `pickle.loads(request.data)` MEDIUM and a hard-coded `/tmp` path MEDIUM too; a
gate that blocks on the tool's label cannot tell them apart. Here the class decides:

* Injection-family classes (SQL, command, code, template, deserialization, XXE, path
  traversal, SSRF, redirect, XSS, LDAP, XPath, header/log): a finding that shows the sink
  is really reached blocks at `high`; a pattern a person must judge is `medium`.
  - bandit sees a sink, never where its value came from: `eval("60*60*24")`, a
    `shlex.quote`d shell command, a `%s`-parameterised query and `pickle.loads` of the
    gate's own cache all look alike to it. Its injection-family tests (B102/B307 code,
    B602/B605 command, B608 SQL, B301/B302/B506/B614 deserialisation) are sinks, and the
    policy's `classification.sinks` says what a sink alone means. `confirmed` (the
    shipped default): *at most* `medium`, the tool's own severity capped; the same lines
    flagged by a taint-confirmed semgrep rule (request data reaches the sink) merge into
    one issue at `high`, so a real flow still blocks and a constant does not; `block`:
    `high` whatever flows in (B602/B605: bandit's own, HIGH for a non-literal command;
    B608: `high` at bandit's MEDIUM confidence, when it saw the string built in the
    `execute()` call). Under `confirmed`, code with no request source (argv, stdin, queue
    messages) is reported, and a person judges it.
  - semgrep: a shipped rule is decided by id below; any other rule by its `metadata.cwe`,
    and semgrep's ERROR means taint-confirmed (the packs' convention), so ERROR is `high`,
    WARNING `medium`, INFO `low`.
* Other classes (crypto, TLS, secrets, debug, temp files …): the tool's own severity, which
  for these is already a judgement about the code (bandit's B201 is HIGH only when
  Flask's debugger is really on), unless the table says otherwise.

The policy overrides per rule id or per CWE (`classification:` in the policy). The tool's
own severity is kept on the finding (`tool_severity`) and shown in every report.

One flaw, one issue: findings of different tools on overlapping lines of one file, in one
class, with the same inline suppression state, become one finding (`merge_flaws`). It keeps
the fingerprint of the first tool by name (bandit before semgrep), so its lifecycle and
waivers carry on; the others ride along in `also`, and a waiver, a baseline entry or a
lifecycle record of any of them applies to the whole issue (gate.py checks each).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from compliance.findings import Finding, Severity

_CWE = re.compile(r"^CWE-(\d+)$", re.IGNORECASE)

# class name -> the CWE ids in it. A CWE in no class is its own class ("CWE-n").
CLASSES: dict[str, frozenset[int]] = {
    "sql-injection": frozenset({89, 564, 943}),
    "command-injection": frozenset({77, 78, 88}),
    "code-injection": frozenset({94, 95, 96}),
    "template-injection": frozenset({1336}),
    "deserialization": frozenset({502}),
    "xxe": frozenset({611, 776, 827}),
    "path-traversal": frozenset({22, 23, 36, 73}),
    "ssrf": frozenset({918}),
    "open-redirect": frozenset({601}),
    "xss": frozenset({79, 80}),
    "ldap-injection": frozenset({90}),
    "xpath-injection": frozenset({643}),
    "header-injection": frozenset({113, 93}),
    "log-injection": frozenset({117}),
    "weak-crypto": frozenset({326, 327, 328, 916}),
    "weak-random": frozenset({330, 338}),
    "tls-verification": frozenset({295, 297}),
    "signature-verification": frozenset({347}),
    "hard-coded-secret": frozenset({259, 321, 798}),
    "debug-enabled": frozenset({489, 215}),
    "insecure-temp-file": frozenset({377, 379}),
    "cleartext-transmission": frozenset({319}),
    "file-permissions": frozenset({732}),
    "csrf": frozenset({352}),
    "cookie-flags": frozenset({614, 1004, 1275}),
    "error-handling": frozenset({703}),
}
INJECTION = frozenset(
    {
        "sql-injection",
        "command-injection",
        "code-injection",
        "template-injection",
        "deserialization",
        "xxe",
        "path-traversal",
        "ssrf",
        "open-redirect",
        "xss",
        "ldap-injection",
        "xpath-injection",
        "header-injection",
        "log-injection",
    }
)
"""Classes where a confirmed flow blocks at `high` and a pattern hint is `medium`."""
_CLASS_OF = {cwe: name for name, cwes in CLASSES.items() for cwe in cwes}
TOOL = None
"""In the table: keep the tool's own severity (see the module docstring)."""


@dataclass(frozen=True)
class Entry:
    cwe: int
    severity: Severity | None  # None (TOOL): the tool's own
    why: str
    at_most: bool = False
    """A sink seen without its source. Under `classification.sinks: confirmed`, the tool's
    own severity capped at `severity`; under `sinks: block`, `blocking` (below)."""
    blocking: Severity | None = Severity.HIGH
    """`sinks: block`: the severity whatever flows in (None: the tool's own)."""
    sink_confidence: Severity | None = None
    """`sinks: block`: `blocking` only at this tool confidence or above, else `medium`."""


H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
SINK = "a sink (see `classification.sinks`)"
BANDIT: dict[str, Entry] = {
    "B101": Entry(703, L, "assert is removed under -O; rarely a security flaw alone"),
    "B102": Entry(95, M, f"exec(): code execution, {SINK}", at_most=True),
    "B103": Entry(732, TOOL, "bandit rates the mode bits it sees"),
    "B104": Entry(605, TOOL, "binding all interfaces is a deployment choice to review"),
    "B105": Entry(259, TOOL, "a password literal: bandit's LOW, secrets rules judge more"),
    "B106": Entry(259, TOOL, "as B105"),
    "B107": Entry(259, TOOL, "as B105"),
    "B108": Entry(377, TOOL, "a fixed temp path"),
    "B110": Entry(703, L, "except: pass"),
    "B112": Entry(703, L, "except: continue"),
    "B113": Entry(400, TOOL, "no timeout on a request"),
    "B201": Entry(489, TOOL, "Flask debug=True: bandit's HIGH (the debugger runs code)"),
    "B202": Entry(22, TOOL, "tarfile.extractall without a member filter"),
    "B301": Entry(
        502, M, f"pickle/dill/shelve/jsonpickle load: deserialization, {SINK}", at_most=True
    ),
    "B302": Entry(502, M, f"marshal load: deserialization, {SINK}", at_most=True),
    "B303": Entry(327, TOOL, "weak hash"),
    "B304": Entry(327, TOOL, "weak cipher"),
    "B305": Entry(327, TOOL, "weak cipher mode"),
    "B306": Entry(377, TOOL, "tempfile.mktemp race"),
    "B307": Entry(95, M, f"eval(): code execution, {SINK}", at_most=True),
    "B308": Entry(79, M, "mark_safe: a person judges what is marked safe"),
    "B310": Entry(918, M, "urlopen accepts file:// and custom schemes: a pattern to judge"),
    "B311": Entry(330, TOOL, "random for security: bandit's LOW unless a rule sees a token"),
    "B312": Entry(319, TOOL, "telnet"),
    "B313": Entry(611, M, "stdlib XML parser: XXE only if untrusted XML reaches it"),
    "B314": Entry(611, M, "as B313"),
    "B315": Entry(611, M, "as B313"),
    "B316": Entry(611, M, "as B313"),
    "B317": Entry(611, M, "as B313"),
    "B318": Entry(611, M, "as B313"),
    "B319": Entry(611, M, "as B313"),
    "B320": Entry(611, M, "as B313"),
    "B321": Entry(319, TOOL, "FTP"),
    "B323": Entry(295, TOOL, "unverified TLS context"),
    "B324": Entry(327, TOOL, "weak hash"),
    "B401": Entry(319, TOOL, "import only"),
    "B402": Entry(319, TOOL, "import only"),
    "B403": Entry(502, L, "import only: the load itself is B301"),
    "B404": Entry(78, L, "import only: the call itself is B60x"),
    "B405": Entry(611, L, "import only"),
    "B406": Entry(611, L, "import only"),
    "B407": Entry(611, L, "import only"),
    "B408": Entry(611, L, "import only"),
    "B409": Entry(611, L, "import only"),
    "B410": Entry(611, L, "import only"),
    "B411": Entry(611, TOOL, "xmlrpc"),
    "B412": Entry(284, TOOL, "httpoxy"),
    "B413": Entry(327, TOOL, "pycrypto is unmaintained"),
    "B415": Entry(319, TOOL, "IPMI"),
    "B501": Entry(295, TOOL, "verify=False"),
    "B502": Entry(327, TOOL, "old TLS version"),
    "B503": Entry(327, TOOL, "old TLS version default"),
    "B504": Entry(327, TOOL, "TLS without a version"),
    "B505": Entry(326, TOOL, "short key"),
    "B506": Entry(
        502, M, f"yaml.load with an unsafe loader: deserialization, {SINK}", at_most=True
    ),
    "B507": Entry(295, TOOL, "SSH host key not verified"),
    "B508": Entry(319, TOOL, "SNMPv1/2"),
    "B509": Entry(319, TOOL, "SNMPv3 without auth/priv"),
    "B601": Entry(78, M, "paramiko exec_command: a pattern, the command's origin unseen"),
    "B602": Entry(78, M, f"shell=True, non-literal command: {SINK}", at_most=True, blocking=TOOL),
    "B603": Entry(78, TOOL, "no shell: bandit's LOW"),
    "B604": Entry(78, TOOL, "shell=True on another function"),
    "B605": Entry(78, M, f"os.system & co, non-literal: {SINK}", at_most=True, blocking=TOOL),
    "B606": Entry(78, TOOL, "process without a shell"),
    "B607": Entry(78, TOOL, "partial executable path"),
    "B608": Entry(89, M, f"SQL built from strings: {SINK}", at_most=True, sink_confidence=M),
    "B609": Entry(78, TOOL, "wildcard injection"),
    "B610": Entry(89, M, "Django extra(): a pattern to judge"),
    "B611": Entry(89, M, "Django RawSQL: a pattern to judge"),
    "B612": Entry(94, TOOL, "logging.config.listen runs received config"),
    "B613": Entry(838, TOOL, "trojan source characters"),
    "B614": Entry(502, M, f"torch.load unpickles: deserialization, {SINK}", at_most=True),
    "B615": Entry(494, TOOL, "unpinned model download"),
    "B701": Entry(
        79, M, "jinja2 autoescape off or unset: a setting, what reaches it unseen; a person judges"
    ),
    "B702": Entry(79, TOOL, "mako templates do not escape"),
    "B703": Entry(79, TOOL, "Django mark_safe"),
    "B704": Entry(79, TOOL, "markupsafe.Markup on a non-literal"),
}
SEMGREP: dict[str, Entry] = {
    "python-ssti-request-template": Entry(1336, H, "request data reaches a template source"),
    "python-sql-string-built": Entry(
        89, M, "pattern only: flags every string-built query, safe or not; a person judges"
    ),
    "python-sql-string-built-via-variable": Entry(89, M, "as python-sql-string-built"),
    "python-ssrf-request-url": Entry(918, TOOL, "request data in a URL"),
    "python-path-traversal-request-path": Entry(22, TOOL, "request data in a path"),
    "python-yaml-unsafe-load": Entry(502, M, f"unsafe YAML loader: {SINK}", at_most=True),
    "python-jsonpickle-decode": Entry(502, M, f"jsonpickle.decode: {SINK}", at_most=True),
    "python-dill-load": Entry(502, M, f"dill load: {SINK}", at_most=True),
    "python-notebook-shell-command": Entry(78, TOOL, "a notebook's shell escape"),
    "python-jinja2-autoescape-off": Entry(
        79, M, "autoescape=False: a setting, what reaches the templates unseen; a person judges"
    ),
    "web-config-template-autoescape-off": Entry(79, M, "as python-jinja2-autoescape-off"),
    "web-config-jinja2-autoescape-default": Entry(
        79, M, "Environment() without autoescape (Jinja2's default is off) in web code"
    ),
    "web-template-safe-filter": Entry(
        79, M, "safe filter in a template: the value's origin is in other code; a person judges"
    ),
    "web-template-autoescape-off": Entry(
        79, M, "autoescape false/off block in a template: as web-template-safe-filter"
    ),
}
TAINT_CONFIRMED = "ERROR"
"""Semgrep's severity that marks a taint-confirmed rule in the packs (WARNING: a hint)."""
_BY_SEMGREP_SEVERITY = {"ERROR": H, "WARNING": M, "INFO": L}


@dataclass(frozen=True)
class Overrides:
    """The policy's `classification:` section (policy/model.py validates it)."""

    rules: Mapping[str, Severity]
    cwe: Mapping[int, Severity]
    sinks: Literal["block", "confirmed"] = "confirmed"
    """confirmed (shipped): only a taint-confirmed flow blocks; block: a sink blocks whatever
    flows in."""


NO_OVERRIDES = Overrides({}, {})


def class_of(cwe: int) -> str:
    return _CLASS_OF.get(cwe, f"CWE-{cwe}")


def cwe_number(text: str) -> int | None:
    found = _CWE.match(text.strip())
    return int(found.group(1)) if found else None


def classify(finding: Finding, overrides: Overrides = NO_OVERRIDES) -> Finding:
    """The finding with its weakness class and gate severity; the tool's own severity is
    kept in `tool_severity`. Findings of scanners the table does not cover pass through."""
    if finding.scanner not in ("bandit", "semgrep"):
        return finding
    table = BANDIT if finding.scanner == "bandit" else SEMGREP
    entry = table.get(finding.rule_id)
    cwe = entry.cwe if entry else _first_cwe(finding.references)
    if cwe is None:
        severity = overrides.rules.get(finding.rule_id, finding.severity)
        return replace(finding, severity=severity)
    klass = class_of(cwe)
    severity = _table_severity(finding, entry, klass, overrides.sinks)
    severity = overrides.rules.get(finding.rule_id, overrides.cwe.get(cwe, severity))
    weakness = f"CWE-{cwe} {klass}"
    message = finding.message
    if severity is not finding.severity:  # every format shows the message: say both
        said = finding.tool_severity or finding.severity.label
        message = (
            f"{message}\n\nGate severity {severity.label} ({weakness}, weakness table); "
            f"{finding.scanner} said {said}."
        )
    return replace(finding, severity=severity, weakness=weakness, message=message)


def _table_severity(finding: Finding, entry: Entry | None, klass: str, sinks: str) -> Severity:
    if entry is not None:
        if entry.severity is None:
            return finding.severity
        if entry.at_most and sinks == "confirmed":
            return min(finding.severity, entry.severity)
        if entry.at_most:
            return _blocking_sink(finding, entry)
        return entry.severity
    if finding.scanner == "semgrep" and klass in INJECTION:
        return _BY_SEMGREP_SEVERITY.get(finding.tool_severity.upper(), finding.severity)
    return finding.severity


def _blocking_sink(finding: Finding, entry: Entry) -> Severity:
    if entry.blocking is None:
        return finding.severity
    if entry.sink_confidence is not None and (
        finding.confidence is None or finding.confidence < entry.sink_confidence
    ):
        return Severity.MEDIUM
    return entry.blocking


def _first_cwe(references: Iterable[str]) -> int | None:
    for reference in references:
        number = cwe_number(reference)
        if number is not None:
            return number
    return None


def merge_flaws(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per flaw: different tools, one file, overlapping lines, one class, the
    same suppression state (see the module docstring). Order is kept (first member's)."""
    groups: dict[tuple[str, str, bool], list[list[Finding]]] = {}
    order: list[list[Finding]] = []
    for f in findings:
        path, start = f.location.path, f.location.start_line
        if not f.weakness or path is None or start is None or f.location.package:
            order.append([f])
            continue
        key = (path, f.weakness.split(" ", 1)[1], f.suppressed)
        for group in groups.setdefault(key, []):
            if f.scanner not in {g.scanner for g in group} and any(_overlap(f, g) for g in group):
                group.append(f)
                break
        else:
            group = [f]
            groups[key].append(group)
            order.append(group)
    return [_merged(group) if len(group) > 1 else group[0] for group in order]


def _overlap(a: Finding, b: Finding) -> bool:
    a0, b0 = a.location.start_line or 0, b.location.start_line or 0
    a1, b1 = a.location.end_line or a0, b.location.end_line or b0
    return a0 <= b1 and b0 <= a1 and a.location.cell == b.location.cell


def _merged(group: list[Finding]) -> Finding:
    members = sorted(group, key=lambda f: (f.scanner, f.rule_id))
    first, others = members[0], tuple(members[1:])
    named = " + ".join(f"{f.scanner} {f.rule_id}" for f in others)
    seen_by = "; ".join(_tool_said(f) for f in members)
    return replace(
        first,
        severity=max(f.severity for f in members),
        title=f"{first.title} [also {named}]",
        message=f"{first.message}\n\nOne flaw, reported by {seen_by}.",
        references=tuple(dict.fromkeys(r for f in members for r in f.references)),
        also=others,
    )


def _tool_said(f: Finding) -> str:
    said = f" (tool severity {f.tool_severity})" if f.tool_severity else ""
    return f"{f.scanner} {f.rule_id}{said}"


def members(finding: Finding) -> tuple[Finding, ...]:
    """The finding and every finding merged into it."""
    return (finding, *finding.also)


def judged_findings(findings: Sequence[Finding], overrides: Overrides) -> list[Finding]:
    """What the gate judges: every finding classified, then one per flaw."""
    return merge_flaws([classify(f, overrides) for f in findings])
