"""The semgrep rule set in use: which files, which files they apply to, and its digest.

We read the rule files ourselves for three reasons semgrep's JSON cannot serve:

- coverage: semgrep lists a file in `paths.scanned` only when some rule's language applies
  to it, without saying why the others were left out. Knowing the rules' languages and
  `paths:` filters lets us ask semgrep only for files a rule applies to, and then demand
  every one of them back. A file we expect but semgrep does not scan is a coverage error
  (the safe direction: our table can only make the gate stricter, never quieter);
- redaction: rules marked `metadata.secret: true` match a secret, and their findings must
  never carry it in clear text (see `redact.py`);
- provenance: the digest of the rule files is stored with the tool version, so a stored scan
  says which rules produced it (and a result cache can key on it);
- one resolved config: semgrep's OCaml front end (`semgrep.py` runs it) does not follow YAML
  anchors and aliases (`include: *docker_files` reads as "expected a list"), which rule
  authors use to share source and path lists. We hand semgrep the rules as we read them,
  aliases expanded, in one JSON document (`RuleSet.config_json`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pathspec import PathSpec

from compliance.paths import shipped_policy
from compliance.policy import yaml_limits
from compliance.scanners.interface import ScannerFailure

# libyaml's safe loader when present: the shipped packs parse ~10x faster than in pure Python
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RULE_SUFFIXES = (".yml", ".yaml")
TEST_SUFFIXES = (".test.yml", ".test.yaml", ".fixed.yml", ".fixed.yaml")
ANY_FILE = frozenset({"generic", "regex", "none"})
"""Languages that apply to every text file."""
PYTHON_LANGUAGES = frozenset({"python", "py"})

LANGUAGE_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # language: (suffixes, exact file names). Deliberately narrow: only what semgrep itself
    # recognises by name, so that every file we hand over is one semgrep will scan.
    "python": ((".py", ".pyi", ".pyw"), ()),
    "py": ((".py", ".pyi", ".pyw"), ()),
    "bash": ((".sh", ".bash"), ()),
    "sh": ((".sh", ".bash"), ()),
    "dockerfile": ((".dockerfile",), ("Dockerfile",)),
    "docker": ((".dockerfile",), ("Dockerfile",)),
    "yaml": ((".yml", ".yaml"), ()),
    "json": ((".json",), ()),
    "javascript": ((".js", ".jsx", ".mjs", ".cjs"), ()),
    "js": ((".js", ".jsx", ".mjs", ".cjs"), ()),
    "typescript": ((".ts", ".tsx"), ()),
    "ts": ((".ts", ".tsx"), ()),
    "go": ((".go",), ()),
    "golang": ((".go",), ()),
    "java": ((".java",), ()),
    "ruby": ((".rb",), ()),
    "php": ((".php",), ()),
    "c": ((".c", ".h"), ()),
    "terraform": ((".tf", ".hcl"), ()),
    "hcl": ((".tf", ".hcl"), ()),
    "html": ((".html", ".htm"), ()),
}


@dataclass(frozen=True)
class Rule:
    id: str
    languages: frozenset[str]
    include: PathSpec | None  # type: ignore[type-arg]
    exclude: PathSpec | None  # type: ignore[type-arg]
    secret: bool

    def applies_to(self, path: str) -> bool:
        if not (
            self.languages & ANY_FILE
            or any(_language_matches(lang, path) for lang in self.languages)
        ):
            return False
        return self.allows_path(path)

    def allows_path(self, path: str) -> bool:
        """The rule's `paths:` filters alone (no language check)."""
        if self.include is not None and not self.include.match_file(path):
            return False
        return not (self.exclude is not None and self.exclude.match_file(path))

    @property
    def reads_python(self) -> bool:
        return bool(self.languages & PYTHON_LANGUAGES)


@dataclass(frozen=True)
class RuleSet:
    files: tuple[Path, ...]
    rules: tuple[Rule, ...]
    digest: str
    entries: tuple[dict[str, Any], ...] = ()
    """The rules as read (aliases expanded), in file order."""
    sources: tuple[tuple[str, Path], ...] = ()
    """Which file each rule id came from, to name it in semgrep's errors."""

    def targets(self, files: Iterable[str]) -> list[str]:
        """The files at least one rule applies to, in the given order. Rules without path
        filters are asked first, and each distinct filter once: most rules share their
        filters, and a rule for every text file answers for all files at once."""
        distinct = {
            (rule.languages, _patterns(rule.include), _patterns(rule.exclude)): rule
            for rule in self.rules
        }
        order = sorted(
            distinct.values(), key=lambda r: (r.include is not None, r.exclude is not None)
        )
        return [f for f in files if any(rule.applies_to(f) for rule in order)]

    @property
    def secret_rules(self) -> frozenset[str]:
        return frozenset(rule.id for rule in self.rules if rule.secret)

    def config_json(self) -> str:
        """Every rule in one semgrep config. YAML values JSON lacks (a date in metadata)
        become their text; semgrep does not interpret metadata."""
        return self._config_json

    @cached_property
    def _config_json(self) -> str:
        return json.dumps({"rules": list(self.entries)}, default=str)

    @cached_property
    def config_digest(self) -> str:
        """SHA-256 of exactly the config semgrep is handed (every rule, aliases expanded):
        the result cache's key for the rules, whatever files they came from."""
        return hashlib.sha256(self._config_json.encode()).hexdigest()

    def source_of(self, rule_id: str) -> Path | None:
        return dict(self.sources).get(rule_id)

    def python_only(self) -> RuleSet | None:
        """The Python rules alone (for copies of Python that the other rules read already
        in the original file: notebooks, shebang scripts); None when there are none. Its
        digest differs, so cached results of the two sets never mix."""
        keep = [i for i, rule in enumerate(self.rules) if rule.reads_python]
        if not keep:
            return None
        rules = tuple(self.rules[i] for i in keep)
        ids = {rule.id for rule in rules}
        return RuleSet(
            self.files,
            rules,
            hashlib.sha256(f"{self.digest}|python-only".encode()).hexdigest(),
            tuple(self.entries[i] for i in keep if i < len(self.entries)),
            tuple((rule_id, path) for rule_id, path in self.sources if rule_id in ids),
        )

    def lost_by_renaming(self, path: str, alias: str, *, python: bool = False) -> list[str]:
        """Ids of rules that read `path` but would not read a copy named `alias` (`python`:
        the copy is Python for the rule even though the original's name is not)."""
        if python:
            return [r.id for r in self.rules if r.allows_path(path) and not r.allows_path(alias)]
        return [r.id for r in self.rules if r.applies_to(path) and not r.applies_to(alias)]


def default_rule_locations() -> list[Path]:
    return [shipped_policy("semgrep")]


def load_rule_set(locations: Sequence[str | Path]) -> RuleSet:
    """Expand folders to rule files and read every rule; a problem names file and line."""
    files = _expand(Path(loc) for loc in (locations or default_rule_locations()))
    rules: list[Rule] = []
    entries: list[dict[str, Any]] = []
    sources: list[tuple[str, Path]] = []
    digest = hashlib.sha256()
    for path in files:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
        for rule, entry in _read_rules(path, data):
            rules.append(rule)
            entries.append(entry)
            sources.append((rule.id, path))
    if not rules:
        raise ScannerFailure(
            "scanner.crash",
            "the semgrep rule files define no rules: " + ", ".join(map(str, files)),
            hint="check per_scanner.semgrep.rules in the policy",
        )
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ScannerFailure(
                "scanner.crash",
                f"semgrep rule id {rule.id!r} is defined twice; ids must be unique across "
                "rule files (they are the finding's rule_id and part of its fingerprint)",
            )
        seen.add(rule.id)
    return RuleSet(tuple(files), tuple(rules), digest.hexdigest(), tuple(entries), tuple(sources))


def _expand(locations: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for location in locations:
        if location.is_file():
            found.append(location.resolve())
        elif location.is_dir():
            found.extend(
                p.resolve()
                for p in sorted(location.rglob("*"))
                if p.is_file()
                and p.name.endswith(RULE_SUFFIXES)
                and not p.name.endswith(TEST_SUFFIXES)
                and not any(part.startswith(".") for part in p.relative_to(location).parts)
            )
        else:
            raise ScannerFailure(
                "scanner.crash",
                f"semgrep rule location {location} does not exist",
                hint="check per_scanner.semgrep.rules in the policy (paths are relative to "
                "the policy file)",
            )
    return found


def _read_rules(path: Path, data: bytes) -> list[tuple[Rule, dict[str, Any]]]:
    """The rules of one file. Composed and checked against yaml_limits before any value is
    built: the aliases we expand for semgrep (see above) must not expand without bound."""
    loader = _LOADER(data)
    try:
        node = loader.get_single_node()
        if node is not None:
            yaml_limits.check(node, data)
        doc = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScannerFailure(
            "scanner.crash",
            f"{where}: semgrep rule file is not valid YAML: {problem}",
            hint="fix the rule file; no semgrep rule ran",
        ) from None
    except yaml_limits.LimitError as exc:
        raise ScannerFailure(
            "scanner.crash",
            f"{path}:{exc.line}: semgrep rule file refused: {exc.message}",
            hint="fix the rule file; no semgrep rule ran",
        ) from None
    finally:
        loader.dispose()
    entries = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ScannerFailure(
            "scanner.crash",
            f"{path}: a semgrep rule file must be a mapping with a 'rules:' list",
        )
    return [(_rule(path, i, entry), entry) for i, entry in enumerate(entries)]


def _rule(path: Path, index: int, entry: Any) -> Rule:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ScannerFailure("scanner.crash", f"{path}: rule #{index + 1} has no id")
    languages = entry.get("languages")
    if not isinstance(languages, list) or not languages:
        raise ScannerFailure(
            "scanner.crash", f"{path}: rule {entry['id']} has no 'languages:' list"
        )
    langs = frozenset(str(lang).lower() for lang in languages)
    unknown = sorted(lang for lang in langs if lang not in ANY_FILE and lang not in LANGUAGE_FILES)
    if unknown:
        raise ScannerFailure(
            "scanner.crash",
            f"{path}: rule {entry['id']} uses language(s) {', '.join(unknown)} that the gate "
            "cannot map to files, so it could not prove they were scanned",
            hint="known: " + ", ".join(sorted(ANY_FILE | LANGUAGE_FILES.keys())),
        )
    paths = entry.get("paths") or {}
    metadata = entry.get("metadata") or {}
    return Rule(
        id=entry["id"],
        languages=langs,
        include=_spec(paths.get("include")),
        exclude=_spec(paths.get("exclude")),
        secret=bool(isinstance(metadata, dict) and metadata.get("secret")),
    )


def _spec(patterns: Any) -> PathSpec | None:  # type: ignore[type-arg]
    """A rule's `paths:` list as semgrep 1.x reads it: a pattern matches at any depth unless
    it starts with `/`, even with a `/` inside (`sshd_config.d/*` matches
    `etc/ssh/sshd_config.d/a.conf`, where gitignore would anchor it). Reading it the
    gitignore way would hand semgrep fewer files than the rule covers."""
    if not patterns:
        return None
    if isinstance(patterns, str):
        patterns = [patterns]
    return PathSpec.from_lines("gitignore", [_unanchored(str(p)) for p in patterns])


def _unanchored(pattern: str) -> str:
    if pattern.startswith("!"):
        return "!" + _unanchored(pattern[1:])
    if pattern.startswith(("/", "**/")) or "/" not in pattern.rstrip("/"):
        return pattern
    return "**/" + pattern


def _patterns(spec: PathSpec | None) -> tuple[str, ...]:  # type: ignore[type-arg]
    if spec is None:
        return ()
    return tuple(str(getattr(p, "pattern", p)) for p in spec.patterns)


def _language_matches(language: str, path: str) -> bool:
    suffixes, names = LANGUAGE_FILES[language]
    name = PurePosixPath(path).name
    return name.endswith(suffixes) or name in names


def named_language(path: str) -> bool:
    """Whether a file's name alone makes it a file of some rule language (or a notebook)."""
    return path.endswith(".ipynb") or any(_language_matches(lang, path) for lang in LANGUAGE_FILES)
