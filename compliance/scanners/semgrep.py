"""Semgrep with our own local rule packs, run so that it can never quietly skip anything.

How it runs, and why:

- Rules come only from local files (`policies/semgrep/`, or `per_scanner.semgrep.rules` in
  the policy), with `--metrics=off --disable-version-check --oss-only` and
  `SEMGREP_ENABLE_VERSION_CHECK=0`: the gate never touches the network.
- We pass an explicit file list. Semgrep's own target filters (its default ignore list,
  which hides `tests/`, `.semgrepignore`, `.gitignore`, the 1 MB size limit) apply only to
  files it discovers in folders, never to files named on the command line; we also pass
  `--no-git-ignore --max-target-bytes=0` so the policy's excludes alone decide.
- `--no-rewrite-rule-ids`: a rule's id is the finding's rule_id and part of its fingerprint,
  so it must not depend on where the rule file is installed.
- The engine is semgrep's OCaml front end (`--experimental`, "osemgrep"), not the Python
  one: same engine core, same JSON, same results (the benchmark compares every finding on
  the standard library), but it starts in ~0.2 s where the Python CLI spends ~4 s of CPU
  before the first file and ~8 s more over a large tree. That start-up was most of a
  one-file re-scan. It reads our rules from one resolved JSON config (`semgrep_rules.py`:
  it does not follow YAML aliases); its rule errors still name the rule's own file.
  `ENGINE_ARGS` is the one switch back to the Python CLI.
- Coverage: we ask semgrep only for files a rule applies to (`semgrep_rules.py`) and require
  each to come back in `paths.scanned` without an error; anything else is an error.

Which of semgrep's `errors` are failures: all of them. Semgrep exits 0 after most, so we read
the list and sort each entry into a ScanError kind:

- `scanner.parse` for Syntax/Lexical/AST-builder errors and `PartialParsing` of a target:
  part of the file was not analysed, and a finding may hide exactly there. Semgrep parses a
  file only when a rule's prefilter says the rule may match it, so a reported parse error
  is always on a file a rule wanted to read; broken files no rule cares about cost nothing.
- `scanner.timeout` for per-file rule timeouts (incl. taint fixpoint timeouts): the rule
  did not finish on that file.
- `scanner.crash` for everything else: rule/pattern/schema/YAML errors (a rule that does not
  run is a hole in the gate; semgrep even drops the whole config for schema errors), out of
  memory, stack overflow, fatal and unknown errors.
Nothing is classed harmless: we ship our own rules and use no Pro or SCA features, so no
benign error types are expected, and an unexpected one must be looked at by a person.
Messages are cut to their first line: semgrep quotes source code after it, and that code may
hold a secret.

`# nosemgrep` is honoured as semgrep honours it, and nothing it hides is lost: files that
contain "nosem" are scanned a second time with `--disable-nosem`, and what only that pass
finds is stored as suppressed (the design of bandit.py's `# nosec` pass).

The tree's own semgrep files (`.semgrepignore`, `.semgrep.yml`, `.semgrep/`) are never read
by semgrep here (explicit targets, explicit `--config`; a test proves it with the real tool)
and are listed in the scan's summary unless the policy says `repository_config: ignore`.

Semgrep OSS prints "requires login" instead of a fingerprint and of the matched lines, so we
read the lines ourselves and use `code_fingerprints`. For secrets rules the fingerprint is
taken over the secret (hashed, never stored) and every text field carries only its redacted
form.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from compliance import cache as cache_module
from compliance.cache import ResultCache, gate_identity
from compliance.findings import Finding, Location, Severity, bound_text, code_fingerprints
from compliance.scanners import redact, semgrep_rules
from compliance.scanners.interface import (
    NotScanned,
    ScanContext,
    ScanError,
    Scanner,
    ScannerFailure,
    ScannerResult,
    Secret,
)
from compliance.scanners.process import find_tool, run_tool, stderr_tail
from compliance.scanners.redact import redact_in, redacted
from compliance.scanners.repo_config import semgrep_settings
from compliance.scanners.scan_options import SemgrepOptions
from compliance.scanners.semgrep_rules import RuleSet, load_rule_set, named_language
from compliance.scanners.semgrep_targets import TREE, Target, plan_targets
from compliance.scanners.shards import run_sharded
from compliance.scanners.skeleton import Fresh, Hooks, nothing_ran, scan_files
from compliance.scanners.source_lines import SourceLines
from compliance.scanners.views import COPIES, PYTHON, mirror
from compliance.sources import display_path

SEMGREP_SEVERITY = {
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.LOW,
    # newer semgrep versions also accept these names in rules
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
CONFIDENCE = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
ENV = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
ENGINE_GC = "s=4M"
"""OCAMLRUNPARAM for the scan (unless the environment sets its own): a 4M-word (32 MB)
minor heap instead of OCaml's 256k words. Semgrep allocates heavily while parsing and
matching; the larger nursery cut its CPU time by ~15 % on the standard library (about
+50 MB of memory), with identical JSON output. Garbage collection does not change results."""
ENGINE_ARGS: tuple[str, ...] = ("--experimental", "--project-root", ".")
"""The OCaml CLI (see the module docstring); () runs semgrep's Python CLI instead.

`--project-root .` (semgrep runs in the scanned tree): without it, outside a git checkout
the OCaml CLI matches a rule's `paths:` against each named file's name only, so a pattern
with a `/` (`conf/*.yml`, `**/sshd_config.d/*`) silently matched nothing."""
BATCH_BYTES = 200_000  # argv bytes per semgrep process: far below ARG_MAX
SHARD_MIN_BYTES = 1_000_000
"""Below this many bytes one semgrep process scans them all: a shard's start-up (reading
and compiling the rules, ~0.5 s) would cost more than another core gives back."""
RULE_TIMEOUT = 30  # seconds one rule may spend on one file before semgrep reports a timeout
MESSAGE_LIMIT = 300
PAYLOAD = ("semgrep/bin/semgrep-core",)
"""The engine binary inside semgrep's package: part of the executable's identity."""

PARSE_ERRORS = {
    "Lexical error",
    "Syntax error",
    "Other syntax error",
    "AST builder error",
    "PartialParsing",
}
TIMEOUT_ERRORS = {"Timeout", "Fixpoint timeout", "Timeout during interfile analysis"}
CWE_ID = re.compile(r"CWE-\d+", re.IGNORECASE)
OWASP_ID = re.compile(r"A\d{2}:\d{4}")


@dataclass(frozen=True)
class _Part:
    version: str
    findings: list[Finding]
    errors: list[ScanError]
    failed: set[str]  # tree paths (as shown) not scanned cleanly
    secrets: list[Secret]  # what the secret rules matched, for redact.redact_results


@dataclass
class _Report:
    version: str
    results: list[dict[str, Any]]
    scanned: set[str]
    errors: list[ScanError]
    failed_paths: set[str]


class SemgrepScanner(Scanner):
    name = "semgrep"
    max_severity = max(SEMGREP_SEVERITY.values())  # what a rule *could* say; see below
    max_confidence = max(CONFIDENCE.values())

    def highest_severity(self, options: Mapping[str, Any]) -> Severity:
        """The highest severity a rule of the pack in use gives (read as `_findings` reads
        it): a pack of WARNING rules can never produce a high finding. Raises
        ScannerFailure when the rules cannot be read, as the scan itself would."""
        typed = _options(options)
        rules = load_rule_set(list(typed.rules))
        unknown = typed.unknown_severity
        return max(
            _severity(
                meta if isinstance(meta := entry.get("metadata"), dict) else {},
                entry.get("severity"),
                unknown,
            )
            for entry in rules.entries
        )

    def select(self, root: Path, files: Sequence[str]) -> list[str]:
        """Every file but binary ones: which of them the rules apply to is decided in scan(),
        where the policy's rule set is known. Binary means a NUL byte and not valid UTF-8 (an
        image, an archive), and a name no rule language claims: a `.env` or `settings.py`
        with a NUL byte in it is text to a rule, and a binary `x.py` goes to semgrep, which
        then reports it (a parse error, or a file it did not scan)."""
        return [f for f in files if not _is_binary(root, f)]

    def not_selected(
        self, root: Path, files: Sequence[str], selected: Sequence[str]
    ) -> tuple[NotScanned, ...]:
        chosen = set(selected)
        binary = tuple(display_path(f) for f in files if f not in chosen)
        return (NotScanned("binary files", binary),) if binary else ()

    def version(self) -> str:
        run = run_tool([find_tool("semgrep"), "--version"], tool="semgrep", timeout=120, env=ENV)
        lines = run.stdout.strip().splitlines()
        if run.returncode != 0 or not lines:
            raise ScannerFailure(
                "scanner.crash", f"semgrep --version failed: {stderr_tail(run.stderr)}"
            )
        return lines[-1].strip()

    def scan(self, context: ScanContext) -> ScannerResult:
        options = _options(context.options)
        settings = semgrep_settings(context.root, context.files, options.repository_config)
        rules = load_rule_set(list(options.rules))
        plan = plan_targets(context.root, context.files, rules)
        tool = find_tool("semgrep")
        cache = ResultCache.for_scan(options.cache)
        wanted = {t.path for t in plan.targets}
        if not plan.targets:
            return ScannerResult(
                self.name,
                _version_label(cache.tool_version(tool, self.version, PAYLOAD), rules),
                errors=tuple(plan.errors),
                files_requested=len({e.path for e in plan.errors if e.path}),
                not_scanned=tuple(plan.notes),
                repository_config=settings,
            )
        parts: list[_Part] = []
        with mirror(context.root, plan.views()) as folder:
            for group, group_rules, group_root in (
                (TREE, rules, context.root),
                (COPIES, rules, folder / COPIES),
                (PYTHON, rules.python_only(), folder / PYTHON),
            ):
                targets = plan.group(group)
                if targets and group_rules is not None:
                    part_context = replace(context, root=group_root)
                    parts.append(
                        self._scan_part(part_context, options, group_rules, targets, cache, tool)
                    )
        failed = {p for part in parts for p in part.failed} | {
            e.path for e in plan.errors if e.path
        }
        version = next((part.version for part in parts if part.version), "")
        return ScannerResult(
            scanner=self.name,
            version=_version_label(
                version or cache.tool_version(tool, self.version, PAYLOAD), rules
            ),
            findings=tuple(f for part in parts for f in part.findings),
            secrets=tuple(s for part in parts for s in part.secrets),
            errors=tuple(plan.errors) + tuple(e for part in parts for e in part.errors),
            files_requested=len({display_path(p) for p in wanted} | failed),
            files_scanned=len({display_path(p) for p in wanted} - failed),
            not_scanned=tuple(plan.notes),
            repository_config=settings,
        )

    def _scan_part(
        self,
        context: ScanContext,
        options: SemgrepOptions,
        rules: RuleSet,
        targets: list[Target],
        cache: ResultCache,
        tool: str,
    ) -> _Part:
        """One folder's targets (the tree, or the mirror's copies) with one rule set; paths in
        what it returns are the tree's, as shown (`display_path`)."""
        files = [t.name for t in targets]
        origin = {t.name: t for t in targets}
        hooks = Hooks(
            tool=self.name,
            path_key="path",
            not_reported="semgrep did not scan a file its rules apply to",
            namespace=lambda v: _namespace(v, rules, options),
            run=lambda todo: self._scan_fresh(context, options, rules, todo),
        )
        done = scan_files(cache, tool, context.root, files, hooks, payload=PAYLOAD)
        findings, secrets = self._findings(
            context, options.unknown_severity, rules, done.results, done.suppressed, origin
        )
        clean = set(done.clean)
        return _Part(
            version=done.version,
            findings=findings,
            errors=[_in_tree(e, origin) for e in done.errors],
            failed={origin[f].shown if f in origin else f for f in files if f not in clean},
            secrets=secrets,
        )

    def _scan_fresh(
        self, context: ScanContext, options: SemgrepOptions, rules: RuleSet, files: list[str]
    ) -> Fresh:
        """Run semgrep on the files the cache could not answer for (both nosem passes). An
        error about a file other than these (a rule file) or about none fails the run."""
        if not files:
            return nothing_ran()
        with tempfile.TemporaryDirectory(prefix="compliance-semgrep-") as folder:
            config = Path(folder) / "rules.json"
            config.write_text(rules.config_json(), encoding="utf-8")
            first = self._run_batches(context, options, rules, config, files, disable_nosem=False)
            errors = list(first.errors)
            failed = set(first.failed_paths)
            suppressed: list[dict[str, Any]] = []
            with_nosem = [f for f in files if _mentions_nosem(context.root / f)]
            if with_nosem:
                second = self._run_batches(
                    context, options, rules, config, with_nosem, disable_nosem=True
                )
                errors.extend(e for e in second.errors if e not in errors)
                failed |= second.failed_paths
                kept = {_identity(r) for r in first.results}
                suppressed = [r for r in second.results if _identity(r) not in kept]
        texts = _FileBytes(context.root)
        secret_rules = rules.secret_rules
        return Fresh(
            version=first.version,
            results=[_trim(r, secret_rules, texts) for r in first.results],
            suppressed=[_trim(r, secret_rules, texts) for r in suppressed],
            scanned=first.scanned,
            errors=errors,
            failed=failed,
            run_wide=any(e.path not in files for e in errors),
        )

    def _run_batches(
        self,
        context: ScanContext,
        options: SemgrepOptions,
        rules: RuleSet,
        config: Path,
        files: list[str],
        *,
        disable_nosem: bool,
    ) -> _Report:
        """Semgrep over the files in shards of single-core processes that share the CPU slots
        with the other scanners' (shards.py); each shard in argv-sized batches. The first
        shard starts at once: semgrep is the heavier tool per byte."""

        def shard(names: list[str], _: None, sharded: bool) -> list[_Report]:
            jobs = _jobs(options, sharded=sharded)
            return [
                self._run_once(
                    context,
                    rules,
                    config,
                    batch,
                    disable_nosem=disable_nosem,
                    jobs=jobs,
                    rule_timeout=options.rule_timeout,
                )
                for batch in _batches(names)
            ]

        total = _Report("", [], set(), [], set())
        for reports in run_sharded(
            context.root,
            [(files, None)],
            shard,
            min_bytes=options.shard_bytes,
            max_files=None,
            first_at_once=True,
        ):
            for report in reports:
                total.version = total.version or report.version
                total.results.extend(report.results)
                total.scanned.update(report.scanned)
                # a run-wide error (a rule semgrep rejects) comes back from every shard
                total.errors.extend(e for e in report.errors if e not in total.errors)
                total.failed_paths.update(report.failed_paths)
        return total

    def _run_once(
        self,
        context: ScanContext,
        rules: RuleSet,
        config: Path,
        batch: list[str],
        *,
        disable_nosem: bool,
        jobs: int | None,
        rule_timeout: float,
    ) -> _Report:
        argv = [
            find_tool("semgrep"),
            "scan",
            *ENGINE_ARGS,
            "--json",
            "--metrics=off",
            "--disable-version-check",
            "--oss-only",
            "--no-git-ignore",
            "--no-rewrite-rule-ids",
            "--max-target-bytes=0",
            f"--timeout={rule_timeout}",
        ]
        if jobs:
            argv.append(f"--jobs={jobs}")
        if disable_nosem:
            argv.append("--disable-nosem")
        argv += ["--config", str(config), "--", *batch]
        env = {**ENV, "OCAMLRUNPARAM": os.environ.get("OCAMLRUNPARAM") or ENGINE_GC}
        run = run_tool(argv, tool="semgrep", timeout=context.timeout, cwd=context.root, env=env)
        try:
            report = json.loads(run.stdout)
        except ValueError as exc:
            if run.returncode != 0:
                raise ScannerFailure(
                    "scanner.crash",
                    f"semgrep exited with code {run.returncode}: {stderr_tail(run.stderr)}",
                ) from None
            raise ScannerFailure("scanner.output", f"semgrep printed invalid JSON: {exc}") from None
        if not (
            isinstance(report, dict)
            and isinstance(report.get("results"), list)
            and isinstance(report.get("errors"), list)
            and isinstance(report.get("paths"), dict)
            and isinstance(report["paths"].get("scanned", []), list)
        ):
            raise ScannerFailure(
                "scanner.output",
                "semgrep's JSON lacks results/errors/paths.scanned; unsupported version?",
            )
        errors = [_scan_error(item, rules.source_of) for item in report["errors"]]
        if run.returncode != 0 and not errors:
            raise ScannerFailure(
                "scanner.crash",
                f"semgrep exited with code {run.returncode} without reporting an error: "
                f"{stderr_tail(run.stderr)}",
            )
        return _Report(
            version=str(report.get("version") or "unknown"),
            results=report["results"],
            scanned={_rel(str(p)) for p in report["paths"].get("scanned", [])},
            errors=errors,
            failed_paths={e.path for e in errors if e.path in batch},
        )

    def _findings(
        self,
        context: ScanContext,
        unknown: Severity,
        rules: RuleSet,
        raw: list[dict[str, Any]],
        suppressed: list[dict[str, Any]],
        origin: Mapping[str, Target] | None = None,
    ) -> tuple[list[Finding], list[Secret]]:
        """Findings from semgrep's results, and the secrets the secret rules matched: those
        are redacted here in their own finding, and in every other finding of the file by
        redact.redact_results. `origin` maps the names semgrep was given back to the tree's
        files (and the lines of a copy back to the file's, or a notebook's cell)."""
        origin = origin or {}
        tagged = [(r, False) for r in raw] + [(r, True) for r in suppressed]
        try:
            tagged.sort(
                key=lambda t: (
                    _rel(t[0]["path"]),
                    int(t[0]["start"]["offset"]),
                    str(t[0]["check_id"]),
                )
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ScannerFailure("scanner.output", f"semgrep result lacks a field: {exc}") from None
        secret_rules = rules.secret_rules
        source = SourceLines(
            context.root,
            {name: t.source_map.shown for name, t in origin.items() if t.source_map is not None},
        )
        texts = _FileBytes(context.root)
        keys, rows = [], []
        for result, is_suppressed in tagged:
            try:
                path = _rel(str(result["path"]))
                rule = str(result["check_id"])
                start, end = int(result["start"]["line"]), int(result["end"]["line"])
                span = (int(result["start"]["offset"]), int(result["end"]["offset"]))
                extra = result.get("extra") or {}
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                raise ScannerFailure(
                    "scanner.output", f"semgrep result is malformed: {exc}"
                ) from None
            code = source.excerpt(path, start, end)
            secret = texts.span(path, *span) if rule in secret_rules else None
            target = origin.get(path)
            where = None
            if target is not None:
                path = target.shown
                if target.source_map is not None:
                    where = target.source_map
            keys.append((self.name, rule, path, secret if secret is not None else code))
            rows.append((extra, is_suppressed, path, rule, start, end, code, secret, where))
        findings = []
        secrets: list[Secret] = []
        for fp, (extra, is_suppressed, path, rule, start, end, code, secret, where) in zip(
            code_fingerprints(keys), rows, strict=True
        ):
            raw_meta = extra.get("metadata")
            metadata: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            message = str(extra.get("message") or rule).strip()
            evidence = code
            if secret is not None:
                message = redact_in(message, secret)
                evidence = redact_in(code, secret)
                message = f"{message} (found: {redacted(secret)})"
            title = bound_text(_first_sentence(message) or rule, 200)
            cell = None
            if where is not None:
                message = f"{message} ({where.note(start)})"
                start, end, cell = where.locate(start, end)
            if secret is not None:
                secrets.append(Secret(path, start, end, secret))
            findings.append(
                Finding(
                    scanner=self.name,
                    rule_id=rule,
                    severity=_severity(metadata, extra.get("severity"), unknown),
                    confidence=CONFIDENCE.get(str(metadata.get("confidence", "")).upper()),
                    title=title,
                    message=message,
                    location=Location(path=path, start_line=start, end_line=end, cell=cell),
                    fingerprint=fp,
                    evidence=evidence,
                    references=_references(metadata),
                    remediation=str(metadata.get("fix") or metadata.get("remediation") or ""),
                    suppressed=is_suppressed,
                    tool_severity=str(extra.get("severity") or "").upper()[:20],
                )
            )
        return findings, secrets


def _options(options: Mapping[str, Any]) -> SemgrepOptions:
    return SemgrepOptions.from_mapping(
        options, rule_timeout=RULE_TIMEOUT, shard_bytes=SHARD_MIN_BYTES
    )


def _jobs(options: SemgrepOptions, *, sharded: bool) -> int | None:
    """Semgrep's `--jobs`: the policy's choice, else 1 when its shards or other scanners
    share the cores (see shards.py: its domains stall when oversubscribed and scale badly),
    else semgrep's own default."""
    if options.jobs:
        return options.jobs
    return 1 if sharded or options.concurrent_scanners > 1 else None


def _severity(metadata: Mapping[str, Any], semgrep: Any, unknown: Severity) -> Severity:
    """Our own `metadata.severity` (critical…info) wins over semgrep's three-level scale."""
    ours = metadata.get("severity")
    if ours is not None:
        try:
            return Severity.parse(str(ours))
        except ValueError:
            pass
    return SEMGREP_SEVERITY.get(str(semgrep).upper(), unknown)


def _references(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    refs: list[str] = []
    for value in _as_list(metadata.get("cwe")):
        refs += [m.upper() for m in CWE_ID.findall(str(value))]
    for value in _as_list(metadata.get("owasp")):
        refs += [f"OWASP {m}" for m in OWASP_ID.findall(str(value))]
    refs += [str(v) for v in _as_list(metadata.get("references"))]
    return tuple(dict.fromkeys(refs))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _scan_error(item: Any, source_of: Callable[[str], Path | None] | None = None) -> ScanError:
    """One of semgrep's errors as ours. `source_of` names the rule file a rule id came from:
    semgrep itself only knows the resolved config it was handed."""
    if not isinstance(item, dict):
        return ScanError(
            "semgrep", "scanner.output", f"semgrep reported an odd error: {item!r}"[:MESSAGE_LIMIT]
        )
    kind_raw = item.get("type")
    kind_name = str(kind_raw[0] if isinstance(kind_raw, list) and kind_raw else kind_raw)
    text = str(item.get("message") or item.get("long_msg") or item.get("short_msg") or kind_name)
    first_line = text.strip().splitlines()[0] if text.strip() else kind_name
    path = item.get("path")
    spans = item.get("spans") or []
    rule_file = None
    if isinstance(spans, list) and spans and isinstance(spans[0], dict):
        span = spans[0]
        line = (span.get("start") or {}).get("line")
        rule_file = f"{span.get('file')}:{line}" if line else span.get("file")
    rule_id = item.get("rule_id")
    source = source_of(str(rule_id)) if source_of and rule_id else None
    if source is not None:
        rule_file = str(source)
    elif source_of is not None:
        rule_file = None  # a span in our temporary resolved config: meaningless to the reader
    if kind_name in PARSE_ERRORS and path:
        return ScanError(
            "semgrep",
            "scanner.parse",
            f"semgrep could not parse all of the file ({kind_name}): {first_line}"[:MESSAGE_LIMIT],
            path=_rel(str(path)),
            hint="fix the syntax, or exclude the file in the policy if it is deliberately "
            "not valid code",
        )
    if kind_name in TIMEOUT_ERRORS:
        return ScanError(
            "semgrep",
            "scanner.timeout",
            f"semgrep rule {rule_id or '?'} timed out on the file"[:MESSAGE_LIMIT],
            path=_rel(str(path)) if path else None,
            hint="exclude the file (generated or minified?) or simplify the rule",
        )
    about = f" (rule {rule_id})" if rule_id else ""
    detail = first_line
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if rule_id and not path and first_line.endswith(":") and len(lines) > 1:
        # "Rule parse error in rule X:" says nothing by itself; the next line is about the
        # rule (its own text, never a scanned file's), e.g. "Missing required field message"
        detail = f"{first_line} {lines[1]}"
    return ScanError(
        "semgrep",
        "scanner.crash",
        f"semgrep {kind_name}{about}: {detail}"[:MESSAGE_LIMIT],
        path=_rel(str(path)) if path else rule_file,
        hint="a rule that does not run leaves a hole in the gate: fix the rule file"
        if rule_id or rule_file or "rule" in first_line.lower() or "config" in first_line.lower()
        else "",
    )


class _FileBytes:
    """The exact matched text: semgrep's offsets count bytes."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[str, bytes] = {}

    def span(self, path: str, start: int, end: int) -> str:
        if path not in self._cache:
            try:
                self._cache[path] = (self.root / path).read_bytes()
            except OSError as exc:
                raise ScannerFailure(
                    "scanner.output", f"cannot re-read a file semgrep flagged: {exc}", path=path
                ) from None
        return self._cache[path][start:end].decode("utf-8", "replace")


def _first_sentence(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    head, dot, _ = first.partition(". ")
    return head + dot.strip()


def _trim(result: Any, secret_rules: frozenset[str], texts: _FileBytes) -> dict[str, Any]:
    """What findings need of a result, and nothing else: this is what the cache stores, so
    a secret interpolated into a message (`$SECRET`) is redacted here already."""
    try:
        path = _rel(str(result["path"]))
        rule = str(result["check_id"])
        start = {"line": int(result["start"]["line"]), "offset": int(result["start"]["offset"])}
        end = {"line": int(result["end"]["line"]), "offset": int(result["end"]["offset"])}
        extra = result.get("extra") or {}
        message = str(extra.get("message") or "")
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ScannerFailure("scanner.output", f"semgrep result is malformed: {exc}") from None
    if rule in secret_rules:
        message = redact_in(message, texts.span(path, start["offset"], end["offset"]))
    metadata = extra.get("metadata")
    return {
        "check_id": rule,
        "path": path,
        "start": start,
        "end": end,
        "extra": {
            "message": message,
            "severity": extra.get("severity"),
            "metadata": metadata if isinstance(metadata, dict) else {},
        },
    }


def _namespace(version: str | None, rules: RuleSet, options: SemgrepOptions) -> str:
    """Everything a per-file result depends on besides the file and the executable (which
    the cache adds): the adapter and what it hands semgrep (engine, the resolved rule
    config exactly as written for semgrep, the rule timeout), and semgrep's version."""
    gate = gate_identity(sys.modules[__name__], semgrep_rules, redact, cache_module)
    timeout = options.rule_timeout
    engine = " ".join(ENGINE_ARGS) or "python-cli"
    return (
        f"semgrep|gate={gate}|trim-v3|tool={version}|{engine}|rules={rules.config_digest}"
        f"|timeout={timeout}"
    )


def _version_label(version: str, rules: RuleSet) -> str:
    return f"{version} (rules {rules.digest[:12]})"


def _identity(result: Mapping[str, Any]) -> tuple[Any, ...]:
    start, end = result.get("start") or {}, result.get("end") or {}
    return (
        _rel(str(result.get("path"))),
        result.get("check_id"),
        start.get("offset"),
        end.get("offset"),
    )


def _rel(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def _is_binary(root: Path, name: str) -> bool:
    if named_language(name):
        return False
    try:
        with (root / name).open("rb") as handle:
            head = handle.read(8192)
            if b"\0" not in head:
                return False
            decoder = codecs.getincrementaldecoder("utf-8")()
            chunk = head
            while chunk:
                decoder.decode(chunk)
                chunk = handle.read(1 << 20)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return True
    except OSError:
        return False  # unreadable: let the scan report it rather than hide it here
    return False


def _mentions_nosem(path: Path) -> bool:
    try:  # lower() and a plain search: an IGNORECASE regex over every byte was 10x slower
        return b"nosem" in path.read_bytes().lower()
    except OSError:
        return False


def _batches(files: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for name in files:
        if batch and size + len(name) + 1 > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(name)
        size += len(name) + 1
    if batch:
        yield batch


def _in_tree(error: ScanError, origin: Mapping[str, Target]) -> ScanError:
    """An error about a copy, said about the tree's file."""
    target = origin.get(error.path or "")
    return replace(error, path=target.shown) if target is not None else error
