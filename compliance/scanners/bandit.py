"""Bandit: Python AST checks.

Runs the real `bandit` on an explicit file list so that coverage can be proven: every
file we asked for must come back in bandit's per-file metrics, and every file bandit could
not parse is an error, not a quiet skip. `# nosec` is honoured exactly as bandit honours
it: files whose metrics report a nosec are run once more with `--ignore-nosec`, and what
only that run finds is stored as suppressed, so reports still show it.

Bandit reads `.py`, `.pyw`, `.pyi` and python-shebang scripts in place (it reads any file it
is named, and decodes a PEP 263 coding as Python does: findings in such a file are mapped
back to the file's own lines, `views.py`); a notebook's code cells and a file whose name is
not UTF-8 are read as copies from a temporary folder and mapped back to the tree's file.

The tree's own bandit settings (`.bandit`, `[tool.bandit]`, a baseline…) apply only when
the policy says `repository_config: apply`, and are listed either way: `bandit_config.py`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from compliance import cache as cache_module
from compliance.cache import ResultCache, gate_identity
from compliance.findings import Finding, Location, Severity, code_fingerprints
from compliance.scanners import bandit_config, bandit_python
from compliance.scanners.bandit_config import BanditPlan, bandit_plan
from compliance.scanners.bandit_python import (
    PARSE_ERROR,
    BanditRuntime,
    Interpreter,
    newer_syntax,
    newer_syntax_reason,
)
from compliance.scanners.interface import (
    NotScanned,
    ScanContext,
    ScanError,
    Scanner,
    ScannerFailure,
    ScannerResult,
    Secret,
)
from compliance.scanners.password_literals import (
    PASSWORD_RULES,
    LiteralIndex,
    checked_issue_text,
    quoted_literals,
    redacted_issue_text,
    reported_value,
)
from compliance.scanners.password_literals import parse as parse_python
from compliance.scanners.process import find_tool, run_tool, stderr_tail, venv_version
from compliance.scanners.redact import redact_all
from compliance.scanners.scan_options import BanditOptions
from compliance.scanners.shards import run_sharded
from compliance.scanners.skeleton import Fresh, Hooks, nothing_ran, scan_files
from compliance.scanners.source_lines import SourceLines
from compliance.scanners.views import (
    COPIES,
    NOTEBOOK_SUFFIX,
    PYTHON,
    UTF8,
    SourceMap,
    View,
    ViewError,
    declared_encoding,
    decode_python,
    mirror,
    notebook_code,
    python_kind,
)
from compliance.sources import display_path

SEVERITY = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
BATCH = 2000  # files per bandit process: keeps argv far below ARG_MAX
# Below this many bytes of Python one bandit process does it all: a shard's start-up
# (~0.5 s of imports and plugin loading) would cost more than the second core gives back.
SHARD_MIN_BYTES = 1_000_000
WITHHELD_EVIDENCE = "(evidence withheld: it holds a hard-coded password)"
"""When the file's syntax tree cannot say where the password is, no line of it is shown."""
# Fields of a bandit result that findings are made from; the cache stores only these.
KEPT_FIELDS = (
    "filename",
    "line_number",
    "line_range",
    "col_offset",
    "test_id",
    "test_name",
    "issue_severity",
    "issue_confidence",
    "issue_text",
    "issue_cwe",
    "more_info",
)


class BanditScanner(Scanner):
    name = "bandit"
    max_severity = max(SEVERITY.values())  # bandit's scale ends at HIGH: nothing is critical
    max_confidence = max(SEVERITY.values())

    def select(self, root: Path, files: Sequence[str]) -> list[str]:
        """Python: `*.py`, `*.pyw`, `*.pyi`, notebooks (`*.ipynb`) and scripts with a python
        shebang whatever their name (bandit reads any file it is named)."""
        return [f for f in files if python_kind(root, f)]

    def version(self, tool: str | None = None) -> str:
        tool = tool or find_tool("bandit")
        known = venv_version(tool, "bandit")
        if known:
            return known
        run = run_tool([tool, "--version"], tool="bandit", timeout=60)
        first = run.stdout.strip().splitlines()[:1]
        if run.returncode != 0 or not first:
            raise ScannerFailure(
                "scanner.crash", f"bandit --version failed: {stderr_tail(run.stderr)}"
            )
        return first[0].split()[-1]

    def scan(self, context: ScanContext) -> ScannerResult:
        options = BanditOptions.from_mapping(context.options, SHARD_MIN_BYTES)
        config = bandit_plan(context.root, context.files, options.repository_config)
        excluded = set(config.excluded)  # listed in the plan's settings, never silently dropped
        plan = _plan(context.root, [f for f in context.files if f not in excluded])
        runtime = bandit_python.runtime(
            context.root, options.python, needed=bool(plan.direct or plan.views)
        )
        tool = runtime.tool
        cache = ResultCache.for_scan(options.cache)
        version = cache.tool_version(tool, lambda: self.version(tool))
        with tempfile.TemporaryDirectory(prefix="compliance-bandit-ini-") as folder:
            ini = Path(folder) / "gate.ini"
            ini.write_text(config.ini, encoding="utf-8")
            run = _Run(
                cache, tool, version, config, config.argv(context.root, ini), runtime, options
            )
            parts = [self._scan_part(context, plan.direct, plan.maps, run)]
            if plan.views:
                with mirror(context.root, plan.views) as copies_folder:
                    copies = replace(context, root=copies_folder)
                    origins = {v.alias: (v.path, v.source_map) for v in plan.views}
                    parts.append(self._scan_part(copies, list(origins), origins, run))
        return ScannerResult(
            scanner=self.name,
            version=version,
            findings=tuple(f for part in parts for f in part.findings),
            errors=tuple(plan.errors) + tuple(e for part in parts for e in part.errors),
            files_requested=len(plan.direct) + len(plan.views) + len(plan.errors),
            files_scanned=sum(part.scanned for part in parts),
            not_scanned=tuple(plan.notes),
            repository_config=config.describe([r for part in parts for r in part.raw]),
            secrets=tuple(s for part in parts for s in part.secrets),
            runtime=runtime.describe(),
        )

    def _scan_part(
        self,
        context: ScanContext,
        files: list[str],
        origins: Mapping[str, tuple[str, SourceMap | None]],
        run: _Run,
    ) -> _Part:
        """Bandit over files read from context.root (the tree, or the mirror of copies):
        findings and errors about the tree's files, and how many were scanned cleanly."""
        if not files:
            return _Part([], [], 0, [], [])
        plan = run.config
        hooks = Hooks(
            tool="bandit",
            path_key="filename",
            not_reported="bandit did not report on a file it was asked to scan",
            namespace=lambda v: _namespace(v, plan, run.runtime.interpreter),
            run=lambda todo: self._scan_fresh(context, todo, run),
        )
        done = scan_files(run.cache, run.tool, context.root, files, hooks, version=run.version)
        raw, matched = plan.split_baseline(done.results)  # what bandit would drop stays visible
        findings, secrets = self._findings(
            context, run.options.unknown_severity, raw, done.suppressed + matched, origins
        )
        shown = [
            replace(e, path=_shown(e.path, origins)) if e.path is not None else e
            for e in done.errors
        ]
        return _Part(findings, shown, len(done.clean), secrets, raw + matched)

    def _scan_fresh(self, context: ScanContext, files: list[str], run: _Run) -> Fresh:
        """Both passes over the files the cache could not answer for; results trimmed. A
        file bandit could not parse is failed; an error about no file fails the run."""
        if not files:
            return nothing_ran(run.version)
        # A file with no `nosec` in it has no suppression to honour, so bandit runs it with
        # --ignore-nosec: same results, without the tokenizer pass it spends on every file
        # to find nosec comments (~12 % of its time on the standard library).
        nosec = {f: _may_hold_nosec(context.root / f) for f in files}
        marked, plain = [f for f in files if nosec[f]], [f for f in files if not nosec[f]]
        raw, metrics, errors = self._run_shards(context, [(plain, True), (marked, False)], run)
        with_nosec = [
            f
            for f in files
            if metrics.get(f, {}).get("nosec") or metrics.get(f, {}).get("skipped_tests")
        ]
        suppressed: list[dict[str, Any]] = []
        if with_nosec:
            everything, _, more_errors = self._run_shards(context, [(with_nosec, True)], run)
            errors.extend(more_errors)
            kept = {_identity(r) for r in raw}
            suppressed = [r for r in everything if _identity(r) not in kept]
        errors.sort(key=lambda e: (e.path or "", e.kind, e.reason))
        errors = _explain_syntax(context, errors, run.runtime.interpreter)
        return Fresh(
            version=run.version,
            results=[_trim(r) for r in raw],
            suppressed=[_trim(r) for r in suppressed],
            scanned=set(metrics),
            errors=errors,
            failed={e.path for e in errors if e.path},
            run_wide=not all(e.path for e in errors),
        )

    def _run_shards(
        self,
        context: ScanContext,
        groups: Sequence[tuple[list[str], bool]],
        run: _Run,
    ) -> tuple[list[dict[str, Any]], dict[str, Any], list[ScanError]]:
        """Bandit over each group of files (with `--ignore-nosec` when its flag says so),
        split into shards run side by side when the tree is big enough (shards.py); each
        shard's process takes a CPU slot while it runs."""
        results: list[dict[str, Any]] = []
        metrics: dict[str, Any] = {}
        errors: list[ScanError] = []
        reports = run_sharded(
            context.root,
            groups,
            lambda batch, ignore_nosec, _: self._run_once(
                context, batch, run, ignore_nosec=ignore_nosec
            ),
            min_bytes=run.options.shard_bytes,
            max_files=BATCH,
            first_at_once=False,
        )
        for report in reports:
            results.extend(report["results"])
            metrics.update({_rel(k): v for k, v in report["metrics"].items() if k != "_totals"})
            for item in report["errors"]:
                path = _rel(str(item.get("filename", "")))
                errors.append(
                    ScanError(
                        "bandit",
                        "scanner.parse",
                        f"bandit could not scan the file: {item.get('reason', 'unknown reason')}",
                        path=path or None,
                        hint="fix the file, or add it to the policy's exclude list if it is "
                        "deliberately not Python",
                    )
                )
        return results, metrics, errors

    def _run_once(
        self, context: ScanContext, batch: list[str], run: _Run, *, ignore_nosec: bool
    ) -> Any:
        """One bandit process. `config_args` always include the gate's own `--ini`, so
        bandit reads no settings from the tree unless the plan applies them."""
        with tempfile.TemporaryDirectory(prefix="compliance-bandit-") as tmp:
            out = Path(tmp) / "bandit.json"
            argv = [run.tool, "--format", "json", "--output", str(out), "--quiet"]
            argv += run.config_args
            if ignore_nosec:
                argv.append("--ignore-nosec")
            argv += ["--", *batch]
            done = run_tool(argv, tool="bandit", timeout=context.timeout, cwd=context.root)
            if done.returncode not in (0, 1):
                raise ScannerFailure(
                    "scanner.crash",
                    f"bandit exited with code {done.returncode}: {stderr_tail(done.stderr)}",
                )
            try:
                report = json.loads(out.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ScannerFailure(
                    "scanner.output", f"bandit wrote no report: {stderr_tail(done.stderr)}"
                ) from None
            except (ValueError, UnicodeDecodeError) as exc:
                raise ScannerFailure(
                    "scanner.output", f"bandit wrote invalid JSON: {exc}"
                ) from None
        if not (
            isinstance(report, dict)
            and isinstance(report.get("results"), list)
            and isinstance(report.get("errors"), list)
            and isinstance(report.get("metrics"), dict)
        ):
            raise ScannerFailure(
                "scanner.output", "bandit's JSON lacks results/errors/metrics; unsupported version?"
            )
        # one shape check here, so nothing below meets a list where it expects an object
        if not (
            all(isinstance(item, dict) for item in report["results"])
            and all(isinstance(item, dict) for item in report["errors"])
            and all(isinstance(v, dict) for k, v in report["metrics"].items() if k != "_totals")
        ):
            raise ScannerFailure(
                "scanner.output",
                "bandit's JSON has results, errors or per-file metrics that are not objects",
            )
        return report

    def _findings(
        self,
        context: ScanContext,
        unknown: Severity,
        raw: list[dict[str, Any]],
        suppressed: list[dict[str, Any]],
        origins: Mapping[str, tuple[str, SourceMap | None]] | None = None,
    ) -> tuple[list[Finding], list[Secret]]:
        """Findings from bandit's results, and the hard-coded passwords (B105-B107) they are
        about: those are redacted here in the finding's own text, and in every other finding
        by redact.redact_results. `origins` maps a name bandit read to the tree's file and its
        line map (decoded Python, a notebook's cells)."""
        origins = origins or {}
        tagged = [(r, False) for r in raw] + [(r, True) for r in suppressed]
        try:
            tagged.sort(
                key=lambda t: (
                    _rel(str(t[0]["filename"])),
                    int(t[0]["line_number"]),
                    int(t[0].get("col_offset") or 0),
                )
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ScannerFailure("scanner.output", f"bandit result lacks a field: {exc}") from None
        source = SourceLines(
            context.root,
            {name: smap.shown for name, (_, smap) in origins.items() if smap is not None},
        )
        keys, rows = [], []
        for result, is_suppressed in tagged:
            try:
                path = _rel(str(result["filename"]))
                start = int(result["line_number"])
                line_range = [int(n) for n in result.get("line_range") or [start]]
                rule = str(result["test_id"])
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                raise ScannerFailure(
                    "scanner.output", f"bandit result is malformed: {exc}"
                ) from None
            end = max(line_range)
            code = source.excerpt(path, start, end)
            smap = origins[path][1] if path in origins else None
            read, path = path, _shown(path, origins)
            keys.append((self.name, rule, path, code))
            rows.append((result, is_suppressed, read, path, start, end, rule, code, smap))
        findings = []
        secrets: list[Secret] = []
        wanted: dict[str, list[tuple[int, int]]] = {}
        for row in rows:
            if row[6] in PASSWORD_RULES:
                wanted.setdefault(row[2], []).append((row[4], row[5]))
        passwords = _Passwords(context.root, wanted)
        for fp, (result, is_suppressed, read, path, start, end, rule, code, smap) in zip(
            code_fingerprints(keys), rows, strict=True
        ):
            issue_text = str(result.get("issue_text", rule))
            evidence = code
            values: list[str] = []
            if rule in PASSWORD_RULES:
                issue_text = checked_issue_text(issue_text)
                values = passwords.on_lines(read, start, end, reported_value(issue_text), code)
                evidence = redact_all(code, values) if values else WITHHELD_EVIDENCE
            message = f"{issue_text} [{rule} {result.get('test_name')}]"
            cell = None
            if smap is not None:
                message = f"{message} ({smap.note(start)})"
                start, end, cell = smap.locate(start, end)
            secrets += [Secret(path, start, end, value) for value in values]
            raw_cwe = result.get("issue_cwe")
            cwe = raw_cwe.get("id") if isinstance(raw_cwe, dict) else None
            more_info = result.get("more_info")
            more_info = more_info if isinstance(more_info, str) else None
            references = tuple(ref for ref in (f"CWE-{cwe}" if cwe else None, more_info) if ref)
            findings.append(
                Finding(
                    scanner=self.name,
                    rule_id=rule,
                    severity=SEVERITY.get(str(result.get("issue_severity")).upper(), unknown),
                    confidence=SEVERITY.get(str(result.get("issue_confidence")).upper()),
                    title=issue_text,
                    message=message,
                    location=Location(path=path, start_line=start, end_line=end, cell=cell),
                    fingerprint=fp,
                    evidence=evidence,
                    references=references,
                    remediation=f"See {more_info}" if more_info else "",
                    suppressed=is_suppressed,
                    tool_severity=str(result.get("issue_severity", "")).upper()[:20],
                )
            )
        return findings, secrets


class _Passwords:
    """The password literals on a finding's lines (password_literals.py), each file parsed
    and indexed once however many findings it has."""

    def __init__(self, root: Path, wanted: Mapping[str, Sequence[tuple[int, int]]]):
        """`wanted`: every file's password findings' line spans (start, end): only those
        parts of its syntax tree are indexed."""
        self.root = root
        self.wanted = wanted
        self._index: dict[str, LiteralIndex | None] = {}

    def on_lines(
        self, path: str, start: int, end: int, reported: str | None, code: str
    ) -> list[str]:
        if path not in self._index:
            try:
                tree = parse_python((self.root / path).read_bytes())
            except OSError:
                tree = None
            self._index[path] = (
                LiteralIndex(tree, self.wanted.get(path)) if tree is not None else None
            )
        index = self._index[path]
        if index is None:  # bandit parsed it, we cannot: every quoted text on the lines
            return quoted_literals(code)
        return index.on_lines(start, end, reported)


def _may_hold_nosec(path: Path) -> bool:
    """Whether bandit could find a `# nosec` comment in the file: its bytes hold `nosec` in
    any case (bandit's own pattern is narrower), or it declares a coding other than UTF-8
    (UTF-7 can spell the comment in bytes that do not read `nosec`), or it cannot be read
    or its coding cannot be told (bandit then runs as it always would)."""
    try:
        if declared_encoding(path) not in UTF8:
            return True
        return b"nosec" in path.read_bytes().lower()
    except (OSError, ViewError):
        return True


def _shown(name: str, origins: Mapping[str, tuple[str, SourceMap | None]]) -> str:
    """The tree's file (as shown) for a name bandit read."""
    return display_path(origins[name][0] if name in origins else name)


@dataclass
class _Plan:
    direct: list[str] = field(default_factory=list)  # read in place
    maps: dict[str, tuple[str, SourceMap | None]] = field(default_factory=dict)
    views: list[View] = field(default_factory=list)  # read as copies from a mirror folder
    errors: list[ScanError] = field(default_factory=list)
    notes: list[NotScanned] = field(default_factory=list)


def _plan(root: Path, files: list[str]) -> _Plan:
    """Which files bandit reads in place, which as copies (views.py): a notebook's code
    cells, a file whose name is not valid UTF-8. Decoded Python is read in place (bandit
    decodes as Python does) but its lines and evidence come from the decoded text."""
    plan = _Plan()
    other_language: list[str] = []
    for name in files:
        shown = display_path(name)
        if name.endswith(NOTEBOOK_SUFFIX):
            try:
                code = notebook_code((root / name).read_bytes())
            except OSError as exc:
                plan.errors.append(_plan_error(shown, f"cannot read the file: {exc}", ""))
                continue
            except ViewError as exc:
                plan.errors.append(_plan_error(shown, exc.reason, exc.hint))
                continue
            if code is None:
                other_language.append(shown)
            else:
                alias = f"{PYTHON}/{shown}.py"
                plan.views.append(View(name, alias, code[0].encode("utf-8"), code[1]))
            continue
        smap = _decoded_map(root / name)
        if shown != name:
            plan.views.append(View(name, f"{COPIES}/{shown}", None, smap))
        else:
            plan.direct.append(name)
            if smap is not None:
                plan.maps[name] = (name, smap)
    if other_language:
        plan.notes.append(
            NotScanned("notebooks in a language other than Python", tuple(other_language))
        )
    return plan


def _decoded_map(path: Path) -> SourceMap | None:
    """The line map of Python declaring a non-UTF-8 coding; None otherwise, and when Python
    cannot decode it (bandit then reports the file as unparsable)."""
    try:
        if declared_encoding(path) in UTF8:
            return None
        decoded = decode_python(path.read_bytes())
    except (ViewError, OSError):
        return None
    return decoded[1] if decoded else None


def _plan_error(path: str, reason: str, hint: str) -> ScanError:
    return ScanError("bandit", "scanner.parse", reason, path=path, hint=hint)


@dataclass(frozen=True)
class _Run:
    """What every part of one bandit scan shares: the cache, the tool, the tree's settings
    as they apply (`bandit_config.py`) and the arguments that carry them."""

    cache: ResultCache
    tool: str
    version: str
    config: BanditPlan
    config_args: list[str]
    runtime: BanditRuntime
    options: BanditOptions


@dataclass(frozen=True)
class _Part:
    findings: list[Finding]
    errors: list[ScanError]
    scanned: int
    secrets: list[Secret]
    raw: list[dict[str, Any]]  # bandit's results, for what the tree's settings did to them


def _namespace(version: str, plan: BanditPlan, python: Interpreter | None) -> str:
    """Everything a per-file result depends on besides the file and the executable (which
    the cache adds): the adapter, bandit's version, the interpreter bandit ran on (its
    `ast` decides what parses), what of the tree's settings applies."""
    gate = gate_identity(sys.modules[__name__], bandit_config, bandit_python, cache_module)
    on = f"{python.full}:{python.path}" if python else "pinned"
    return f"bandit|gate={gate}|trim-v3|tool={version}|python={on}|config={plan.mode}:{plan.digest}"


def _explain_syntax(
    context: ScanContext, errors: list[ScanError], ran_on: Interpreter | None
) -> list[ScanError]:
    """A file bandit could not parse that a newer Python found here reads says so, and how
    to scan it (never "exclude it": it is Python, only newer than bandit's interpreter)."""
    unparsed = [
        e.path for e in errors if e.path and e.kind == "scanner.parse" and PARSE_ERROR in e.reason
    ]
    if ran_on is None or not unparsed:
        return errors
    newer = newer_syntax(context.root, unparsed, ran_on, context.timeout)
    explained = []
    for e in errors:
        minor = newer.get(e.path or "") if e.kind == "scanner.parse" else None
        if minor is not None:
            e = replace(e, reason=newer_syntax_reason(minor, ran_on), hint="")
        explained.append(e)
    return explained


def _trim(result: dict[str, Any]) -> dict[str, Any]:
    """What findings need of a result (the cache stores exactly this): a hard-coded
    password in the issue text is redacted here already, so the cache never holds it."""
    trimmed = {key: result[key] for key in KEPT_FIELDS if key in result}
    trimmed["filename"] = _rel(str(result.get("filename")))
    if str(trimmed.get("test_id")) in PASSWORD_RULES:
        trimmed["issue_text"] = redacted_issue_text(str(trimmed.get("issue_text", "")))
    return trimmed


def _identity(result: dict[str, Any]) -> str:
    """Which result this is, to tell the nosec pass's extras apart. Serialised, because the
    fields are not validated yet here and garbage (a list as line number) is unhashable."""
    fields = (
        _rel(str(result.get("filename"))),
        result.get("test_id"),
        result.get("line_number"),
        result.get("col_offset"),
    )
    return json.dumps(fields, sort_keys=True, default=repr)


def _rel(name: str) -> str:
    """Bandit prefixes './' to relative names (and keeps ours): strip them all."""
    while name.startswith("./"):
        name = name[2:]
    return name
