"""Bandit's own settings in the scanned tree, and how the gate runs bandit around them.

A repository controls three kinds of bandit settings: a `.bandit` INI file (`--ini`; bandit
finds one by itself only when it walks a folder, and the gate names files), a YAML or TOML
config (`-c`: `configfile=` in `.bandit`, or `pyproject.toml`'s `[tool.bandit]` for projects
that run `bandit -c pyproject.toml`) and a baseline report (`baseline=`). Each can hide a
finding: `skips`, an allow-list of `tests`, a `profile`, plugin settings that empty the list
of functions a test looks for, `exclude`/`exclude_dirs`, a committed baseline.

The gate always hands bandit an `--ini` of its own, so bandit never picks up anything from
the tree by itself. What goes into it follows the policy's `repository_config`:

- `ignore`: an empty one, and the tree's files are not even read;
- `report` (default): an empty one; the tree's files are read to list what they would change;
- `apply`: the `.bandit` keys that choose tests or files (skips, tests, profile, exclude,
  ignore-nosec), and the config file with `-c`, as bandit would apply them. Excluded files
  are taken out before bandit runs, with bandit's own matching (fnmatch, or the pattern
  anywhere in the path), so each is listed rather than lost. What a baseline matches (with
  bandit's own comparison) becomes a `suppressed` finding instead of vanishing. Output
  options (format, output, level, confidence…) stay the gate's. Anything the gate cannot
  read faithfully is an error naming file:line.

Files bandit itself never reads (`setup.cfg` `[bandit]`/`[tool:bandit]`, `tox.ini`) are
listed, never applied. Garbage in any of them never crashes the gate: in `report` mode it
is listed as unreadable.
"""

from __future__ import annotations

import configparser
import fnmatch
import hashlib
import io
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from compliance.scanners.interface import RepoSetting, ScannerFailure
from compliance.scanners.repo_config import (
    MAX_EFFECT,
    Unreadable,
    decode,
    line_of,
    printable,
    read_tree_file,
    tree_path,
    unreadable_setting,
)

INI = ".bandit"
PYPROJECT = "pyproject.toml"
EMPTY_INI = "[bandit]\n"
"""What bandit gets when nothing is applied: an INI with no keys is read and changes nothing."""
INI_APPLIED = ("skips", "tests", "profile", "exclude", "ignore-nosec")
INI_GATE_OWNED = {
    "level": "a severity filter: the policy's thresholds decide",
    "confidence": "a confidence filter: the policy's thresholds decide",
    "targets": "the gate names the files",
    "recursive": "the gate names the files",
    "aggregate": "an output option",
    "number": "an output option",
    "format": "an output option",
    "msg-template": "an output option",
    "output": "an output option",
    "verbose": "an output option",
    "debug": "an output option",
    "quiet": "an output option",
}
PLUGIN_SETTINGS: dict[str, tuple[str, ...]] = {
    # bandit 1.x plugins that read settings from the config file (`@takes_config`)
    "assert_used": ("B101",),
    "hardcoded_tmp_directory": ("B108",),
    "try_except_pass": ("B110",),
    "try_except_continue": ("B112",),
    "ssl_with_bad_version": ("B502", "B503"),
    "weak_cryptographic_key": ("B505",),
    "shell_injection": ("B602", "B603", "B604", "B605", "B606", "B607", "B609"),
    "markupsafe_xss": ("B704",),
    "blacklist_calls": ("B3xx",),
    "blacklist_imports": ("B4xx",),
}
CONFIG_HARMLESS = {
    "include": "file name globs; no effect on the files the gate names",
    "plugin_name_pattern": "no effect on results",
    "log_format": "no effect on results",
}
BASELINE_FIELDS = (
    "code",
    "filename",
    "issue_severity",
    "issue_cwe",
    "issue_confidence",
    "issue_text",
    "test_name",
    "test_id",
)
OTHER_FILES = (("setup.cfg", ("bandit", "tool:bandit")), ("tox.ini", ("bandit",)))
EXAMPLES = 5  # findings named in one setting's effect
ALL_BUT = "all but "  # how an allow-list of tests is listed among skipped tests
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOML_LINE = re.compile(r"at line (\d+)")

BaselineKey = tuple[str, str, int, str, str, str, str]


@dataclass(frozen=True)
class BanditPlan:
    """How bandit runs in one scan, and what the tree's settings change (or would)."""

    mode: str
    ini: str = EMPTY_INI
    """The text of the `--ini` the gate hands bandit."""
    configfile: str | None = None
    """Repo-relative config file passed with `-c` (apply only)."""
    settings: tuple[RepoSetting, ...] = ()
    excluded: tuple[str, ...] = ()
    """Files taken out before bandit runs (apply only)."""
    baseline: frozenset[BaselineKey] = frozenset()
    baseline_file: str | None = None
    digest: str = ""
    """Of everything applied: part of the result cache's key."""

    @property
    def applies(self) -> bool:
        return self.mode == "apply"

    def argv(self, root: Path, ini_path: Path) -> list[str]:
        args = ["--ini", str(ini_path)]
        if self.configfile:
            args += ["--configfile", str(root / self.configfile)]  # absolute: never an option
        return args

    def split_baseline(
        self, results: Sequence[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(kept, matched by the tree's baseline): bandit would drop the second list. Only
        when applying; otherwise everything is kept."""
        if not (self.applies and self.baseline):
            return list(results), []
        kept = [r for r in results if baseline_key(r) not in self.baseline]
        return kept, [r for r in results if baseline_key(r) in self.baseline]

    def describe(self, results: Sequence[dict[str, Any]]) -> tuple[RepoSetting, ...]:
        """The settings with what they did (or would do) to this scan's results."""
        return tuple(_with_examples(s, results, self) for s in self.settings)


def bandit_plan(root: Path, files: Sequence[str], mode: str) -> BanditPlan:
    """Read the tree's bandit settings per `mode` (see the module docstring)."""
    if mode == "ignore":
        return BanditPlan(mode, digest=_digest(mode, EMPTY_INI))
    return _Reading(root, list(files), apply=mode == "apply").plan(mode)


def baseline_key(result: dict[str, Any]) -> BaselineKey:
    """What bandit compares to tell a baseline issue (its `Issue.__eq__`). Bandit writes
    `./app.py` for `app.py`, and our results are trimmed to `app.py`: names are compared
    without leading `./` on both sides."""
    cwe = result.get("issue_cwe")
    cwe_id = cwe.get("id") if isinstance(cwe, dict) else None
    try:
        number = int(cwe_id) if cwe_id is not None else 0
    except (TypeError, ValueError):
        number = -1
    return (
        str(result.get("issue_text")),
        str(result.get("issue_severity")),
        number,
        str(result.get("issue_confidence")),
        _rel(str(result.get("filename"))),
        str(result.get("test_name")),
        str(result.get("test_id")),
    )


def bandit_excludes(name: str, patterns: Sequence[str]) -> bool:
    """Bandit's own test for an excluded path (`_is_file_included`): a glob that matches the
    name, or a pattern found anywhere in it (`tests` also excludes `mytests.py`)."""
    return any(fnmatch.fnmatch(name, p) for p in patterns) or any(p in name for p in patterns)


@dataclass
class _Reading:
    """One pass over the tree's bandit files, collecting settings and what to apply."""

    root: Path
    files: list[str]
    apply: bool
    settings: list[RepoSetting] = field(default_factory=list)
    applied_ini: dict[str, str] = field(default_factory=dict)
    configfile: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    exclude_patterns: list[str] = field(default_factory=list)
    baseline: frozenset[BaselineKey] = frozenset()
    baseline_file: str | None = None
    digested: list[bytes] = field(default_factory=list)
    ini_exists: bool = False
    ini_source: str = ""

    def plan(self, mode: str) -> BanditPlan:
        ini = self._read_ini()
        profile = ini.get("profile")
        self._read_config(ini)
        if profile is not None:
            self._describe_profile(profile, ini_line=self._ini_line("profile"))
        self._read_baseline(ini)
        for name, sections in OTHER_FILES:
            self._read_unread_file(name, sections)
        excluded = tuple(
            f for f in self.files if self.apply and bandit_excludes(f, self.exclude_patterns)
        )
        ini_text = _ini_text(self.applied_ini) if self.apply else EMPTY_INI
        return BanditPlan(
            mode=mode,
            ini=ini_text,
            configfile=self.configfile if self.apply else None,
            settings=tuple(self.settings),
            excluded=excluded,
            baseline=self.baseline,
            baseline_file=self.baseline_file,
            digest=_digest(
                mode, ini_text, self.configfile or "", *(self.digested if self.apply else [])
            ),
        )

    # -- problems --------------------------------------------------------------------------

    def _problem(self, exc: Unreadable, *, would_apply: bool = True) -> None:
        """Garbage in a file that would be applied stops an `apply` scan (exit 2, file:line);
        otherwise it is listed as unreadable."""
        if self.apply and would_apply:
            raise ScannerFailure(
                "scanner.crash",
                f"cannot apply the repository's bandit settings: {exc}",
                hint="fix the file, or set repository_config: report in the policy",
            )
        self.settings.append(unreadable_setting("bandit", exc))

    def _test_ids(
        self, file: str, line: int | None, key: str, value: object, ids: list[str], *, applied: bool
    ) -> None:
        """`skips` or `tests` (a list of test ids), from an ini or a TOML table alike."""
        if key == "skips":
            self._add(file, line, key, value, f"skips {_tests(ids)}", applied=applied, tests=ids)
        else:
            effect = f"runs only {_tests(ids)}; every other test is skipped"
            self._add(file, line, key, value, effect, applied=applied, tests=[_all_but(ids)])

    def _add(
        self,
        file: str,
        line: int | None,
        key: str,
        value: object,
        effect: str,
        *,
        applied: bool,
        tests: Iterable[str] = (),
        files: Iterable[str] = (),
    ) -> None:
        verb = effect if applied else _would(effect)
        self.settings.append(
            RepoSetting(
                scanner="bandit",
                file=file,
                line=line,
                key=printable(key),
                value=printable(_shown(value)),
                effect=printable(verb, MAX_EFFECT),
                applied=applied,
                tests=tuple(printable(t) for t in tests),
                files=tuple(files),
            )
        )

    # -- .bandit ---------------------------------------------------------------------------

    def _ini_line(self, key: str) -> int | None:
        return line_of(self.ini_source, key, "bandit") if self.ini_source else None

    def _read_ini(self) -> dict[str, str]:
        try:
            data = read_tree_file(self.root, INI)
            if data is None:
                return {}
            self.ini_exists = True
            text = decode(data, INI)
            parser = _ini_parser(text, INI)
        except Unreadable as exc:
            self._problem(exc)
            return {}
        self.ini_source = text
        if not parser.has_section("bandit"):
            self._add(
                INI, None, "(file)", "", "has no [bandit] section: bandit ignores it", applied=False
            )
            return {}
        values = dict(parser.items("bandit"))  # with [DEFAULT]'s keys, as bandit reads them
        for key, value in values.items():
            line = self._ini_line(key)
            if self.apply and key in INI_APPLIED and "%" in value:
                self._problem(
                    Unreadable(
                        f"{INI}:{line or 1}: {printable(key)} contains '%', which bandit would "
                        "expand as interpolation; write the value without '%'"
                    )
                )
            self._describe_ini_key(key, value, line)
        return values

    def _describe_ini_key(self, key: str, value: str, line: int | None) -> None:
        applied = self.apply and key in INI_APPLIED
        if applied:
            self.applied_ini[key] = value
        if key in ("skips", "tests"):
            self._test_ids(INI, line, key, value, _ids(value.split(",")), applied=applied)
        elif key == "exclude":
            patterns = [self._ini_exclude(p) for p in value.split(",")]
            self._exclude(INI, line, key, value, patterns, applied=applied)
        elif key == "ignore-nosec":
            self._add(INI, line, key, value, "reports lines marked # nosec too", applied=applied)
        elif key in ("configfile", "baseline", "profile"):
            pass  # described where they are read
        elif key in INI_GATE_OWNED:
            self._add(INI, line, key, value, f"not applied: {INI_GATE_OWNED[key]}", applied=False)
        else:
            self._add(INI, line, key, value, "not a bandit setting: ignored", applied=False)

    def _ini_exclude(self, pattern: str) -> str:
        # bandit: a pattern naming a folder (relative to where it runs) excludes its files
        return pattern + "/*" if pattern and (self.root / pattern).is_dir() else pattern

    # -- the config file (-c) --------------------------------------------------------------

    def _read_config(self, ini: dict[str, str]) -> None:
        named = ini.get("configfile")
        if named is not None:
            line = self._ini_line("configfile")
            try:
                path = tree_path(self.root, named, f"{INI}:{line or 1}: configfile")
            except Unreadable as exc:
                self._problem(exc)
                return
            self._add(
                INI,
                line,
                "configfile",
                named,
                f"reads bandit settings from {path}",
                applied=self.apply,
            )
            self._load_config(path, toml=path.endswith(".toml"), section=None)
        table_in_pyproject = self._pyproject_table()
        if table_in_pyproject is None:
            return
        if self.ini_exists:
            self._describe_config(
                table_in_pyproject,
                f"{PYPROJECT} [tool.bandit]",
                _text_of(self.root, PYPROJECT),
                "tool.bandit",
                applied=False,
                note="not used: .bandit decides which config file bandit reads",
            )
            return
        self.configfile = PYPROJECT
        self.config = table_in_pyproject
        self.digested.append(_bytes_of(self.root, PYPROJECT))
        self._describe_config(
            table_in_pyproject,
            f"{PYPROJECT} [tool.bandit]",
            _text_of(self.root, PYPROJECT),
            "tool.bandit",
            applied=self.apply,
        )

    def _pyproject_table(self) -> dict[str, Any] | None:
        would_apply = not self.ini_exists
        try:
            data = read_tree_file(self.root, PYPROJECT)
        except Unreadable as exc:
            self._problem(exc, would_apply=would_apply)
            return None
        if data is None:
            return None
        try:
            document = parse_toml(data, PYPROJECT)
        except Unreadable as exc:
            if b"bandit" in data:  # a broken pyproject.toml without bandit settings is not ours
                self._problem(exc, would_apply=would_apply)
            return None
        tool = document.get("tool")
        table = tool.get("bandit") if isinstance(tool, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            self._problem(
                Unreadable(f"{PYPROJECT}: [tool.bandit] is not a table"), would_apply=would_apply
            )
            return None
        return table

    def _load_config(self, path: str, *, toml: bool, section: str | None) -> None:
        try:
            data = read_tree_file(self.root, path)
            if data is None:
                raise Unreadable(f"{path}: does not exist (named by {INI} configfile)")
            if toml:
                document = parse_toml(data, path)
                tool = document.get("tool")
                loaded: Any = tool.get("bandit", {}) if isinstance(tool, dict) else {}
            else:
                loaded = _yaml(data, path)
            if loaded is None:
                loaded = {}
            if not isinstance(loaded, dict):
                raise Unreadable(f"{path}: is not a mapping of bandit settings")
        except Unreadable as exc:
            self._problem(exc)
            return
        self.configfile = path
        self.config = loaded
        self.digested.append(data)
        self._describe_config(
            loaded, path, decode(data, path), "tool.bandit" if toml else None, applied=self.apply
        )

    def _describe_config(
        self,
        config: dict[str, Any],
        file: str,
        text: str,
        section: str | None,
        *,
        applied: bool,
        note: str = "",
    ) -> None:
        for key, value in config.items():
            line = line_of(text, str(key), section)
            where = f"{file}:{line or 1}: {printable(key)}"
            if note:
                self._add(file, line, str(key), value, note, applied=False)
            elif key in ("skips", "tests"):
                ids = self._id_list(value, where, applied)
                self._test_ids(file, line, key, value, ids, applied=applied)
            elif key == "exclude_dirs":
                patterns = self._id_list(value, where, applied)
                self._exclude(file, line, key, value, patterns, applied=applied)
            elif key == "profiles":
                names = sorted(map(str, value)) if isinstance(value, dict) else []
                self._add(
                    file,
                    line,
                    key,
                    ", ".join(names),
                    "defines profiles (used only when .bandit names one with profile=)",
                    applied=False,
                )
            elif key in PLUGIN_SETTINGS:
                plugin_tests = PLUGIN_SETTINGS[str(key)]
                self._add(
                    file,
                    line,
                    key,
                    value,
                    f"changes what {_tests(plugin_tests)} look for "
                    "(an emptied list hides their findings)",
                    applied=applied,
                    tests=plugin_tests,
                )
            elif key in CONFIG_HARMLESS:
                self._add(file, line, key, value, CONFIG_HARMLESS[str(key)], applied=False)
            else:
                self._add(
                    file,
                    line,
                    str(key),
                    value,
                    "not a setting of bandit's own tests (a third-party plugin may read it)",
                    applied=applied,
                )

    def _id_list(self, value: Any, where: str, applied: bool) -> list[str]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return _ids(value)
        problem = Unreadable(
            f"{where} must be a list of strings (bandit reads anything else letter by letter)"
        )
        if applied:
            self._problem(problem)
        return [printable(value)]

    def _exclude(
        self,
        file: str,
        line: int | None,
        key: str,
        value: object,
        patterns: Sequence[str],
        *,
        applied: bool,
    ) -> None:
        hit = [f for f in self.files if bandit_excludes(f, patterns)]
        if applied:
            self.exclude_patterns += patterns
        names = ", ".join(printable(f) for f in hit[:EXAMPLES])
        more = f" and {len(hit) - EXAMPLES} more" if len(hit) > EXAMPLES else ""
        listed = f": {names}{more}" if hit else ""
        self._add(
            file,
            line,
            key,
            value,
            f"excludes {_count(hit, 'file')}{listed}",
            applied=applied,
            files=hit,
        )

    def _describe_profile(self, name: str, ini_line: int | None) -> None:
        profiles = self.config.get("profiles")
        profile = profiles.get(name) if isinstance(profiles, dict) else None
        if not isinstance(profile, dict):
            self._add(
                INI,
                ini_line,
                "profile",
                name,
                "names a profile no config file defines (bandit would stop with an error)",
                applied=self.apply,
            )
            return
        include = _ids(map(str, profile.get("include") or []))
        exclude = _ids(map(str, profile.get("exclude") or []))
        parts = [f"skips {_tests(exclude)}"] if exclude else []
        if include:
            parts.append(f"runs only {_tests(include)}; every other test is skipped")
        self._add(
            INI,
            ini_line,
            "profile",
            name,
            "; ".join(parts) or "selects every test",
            applied=self.apply,
            tests=[*exclude, *([_all_but(include)] if include else [])],
        )

    # -- baseline and files bandit never reads ---------------------------------------------

    def _read_baseline(self, ini: dict[str, str]) -> None:
        named = ini.get("baseline")
        if named is None:
            return
        line = self._ini_line("baseline")
        where = f"{INI}:{line or 1}: baseline"
        try:
            path = tree_path(self.root, named, where)
            data = read_tree_file(self.root, path)
            if data is None:
                raise Unreadable(f"{where}: {printable(named)} does not exist")
            entries = _baseline_entries(data, path)
        except Unreadable as exc:
            self._problem(exc)
            return
        self.baseline = frozenset(baseline_key(e) for e in entries)
        self.baseline_file = path
        self.digested.append(data)
        self._add(
            INI,
            line,
            "baseline",
            named,
            f"hides the findings {path} lists ({_count(entries, 'entry', 'entries')})",
            applied=self.apply,
        )

    def _read_unread_file(self, name: str, sections: Sequence[str]) -> None:
        try:
            data = read_tree_file(self.root, name)
        except Unreadable as exc:
            self._problem(exc, would_apply=False)
            return
        if data is None or b"bandit" not in data:
            return
        try:
            text = decode(data, name)
            parser = _ini_parser(text, name)
        except Unreadable as exc:
            self._problem(exc, would_apply=False)
            return
        for section in sections:
            if not parser.has_section(section):
                continue
            for key, value in parser.items(section, raw=True):
                self._add(
                    f"{name} [{section}]",
                    line_of(text, key, section),
                    key,
                    value,
                    "not applied: bandit itself never reads this file",
                    applied=False,
                )


def _ini_parser(text: str, name: str) -> configparser.ConfigParser:
    """The INI as configparser reads it (bandit's reader), without interpolation here."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=name)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        errors = getattr(exc, "errors", None)
        if line is None and errors:
            line = errors[0][0]
        raise Unreadable(f"{name}:{line or 1}: not valid INI ({type(exc).__name__})") from None
    return parser


def parse_toml(data: bytes, name: str) -> dict[str, Any]:
    text = decode(data, name)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        line = found.group(1) if found else str(text.count("\n") + 1)  # "at end of document"
        raise Unreadable(f"{name}:{line}: not valid TOML") from None
    except RecursionError:
        raise Unreadable(f"{name}:1: nested too deeply") from None


def _yaml(data: bytes, name: str) -> Any:
    """A bandit YAML config, refusing aliases (a billion-laughs document would be read in
    the gate's own process); otherwise as bandit's `yaml.safe_load` reads it."""
    text = decode(data, name)
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise Unreadable(f"{name}:{line}: uses a YAML alias; write the values out")
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C when built
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise Unreadable(f"{name}:{line}: not valid YAML") from None
    except RecursionError:
        raise Unreadable(f"{name}:1: nested too deeply") from None


def _baseline_entries(data: bytes, name: str) -> list[dict[str, Any]]:
    """A bandit JSON report's results, or Unreadable where bandit would load none."""
    try:
        document = json.loads(decode(data, name))
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        raise Unreadable(f"{name}:{line}: not valid JSON") from None
    except RecursionError:
        raise Unreadable(f"{name}:1: nested too deeply") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list) or not all(
        isinstance(r, dict) and all(k in r for k in BASELINE_FIELDS) for r in results
    ):
        raise Unreadable(
            f"{name}: not a bandit JSON report with complete results (bandit would load none)"
        )
    return results


def _ini_text(values: dict[str, str]) -> str:
    if not values:
        return EMPTY_INI
    out = configparser.ConfigParser(interpolation=None)
    out["bandit"] = values
    text = io.StringIO()
    out.write(text)
    return text.getvalue()


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _bytes_of(root: Path, name: str) -> bytes:
    try:
        return read_tree_file(root, name) or b""
    except Unreadable:
        return b""


def _text_of(root: Path, name: str) -> str:
    return _bytes_of(root, name).decode("utf-8", "replace")


def _with_examples(
    setting: RepoSetting, results: Sequence[dict[str, Any]], plan: BanditPlan
) -> RepoSetting:
    """Name the findings of this scan a setting hides (or would): a reviewer sees at once
    that `skips = B602` is about the new `shell=True` in app.py."""
    if setting.key == "baseline" and plan.baseline:
        hit = [r for r in results if baseline_key(r) in plan.baseline]
        what = "stored as suppressed" if setting.applied else "reported"
    elif setting.tests and not setting.applied:
        hit = [r for r in results if _skipped_by(str(r.get("test_id")), setting.tests)]
        what = "reported"
    elif setting.files and not setting.applied:
        names = set(setting.files)
        hit = [r for r in results if str(r.get("filename")) in names]
        what = "reported"
    else:
        return setting
    if not hit:
        return setting
    shown = ", ".join(
        f"{r.get('filename')}:{r.get('line_number')} {r.get('test_id')}" for r in hit[:EXAMPLES]
    )
    more = f" and {len(hit) - EXAMPLES} more" if len(hit) > EXAMPLES else ""
    effect = f"{setting.effect} — {_count(hit, 'finding')} of this scan, {what}: {shown}{more}"
    return replace(setting, effect=printable(effect, MAX_EFFECT))


def _skipped_by(test_id: str, tests: Sequence[str]) -> bool:
    """Whether a setting's `tests` (ids, or `all but …` for an allow-list) skip this test."""
    for entry in tests:
        if entry.startswith(ALL_BUT):
            if test_id not in entry.removeprefix(ALL_BUT).split(", "):
                return True
        elif entry == test_id:
            return True
    return False


def _would(effect: str) -> str:
    """`skips tests B602` → `would skip tests B602` (not-applied settings say what they
    would have done); texts that already say "not applied" stay as they are."""
    if effect.startswith(("not ", "has no ", "no effect", "file name", "defines", "unreadable")):
        return effect
    verb, _, rest = effect.partition(" ")
    base = {
        "skips": "skip",
        "runs": "run",
        "excludes": "exclude",
        "reports": "report",
        "reads": "read",
        "hides": "hide",
        "changes": "change",
        "names": "name",
        "selects": "select",
    }.get(verb, verb)
    return f"would {base} {rest}".strip()


def _rel(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def _ids(values: Iterable[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


def _tests(ids: Sequence[str]) -> str:
    return ("test " if len(ids) == 1 else "tests ") + (", ".join(ids) or "(none)")


def _all_but(ids: Sequence[str]) -> str:
    return ALL_BUT + (", ".join(ids) or "(none)")


def _shown(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def _count(items: Sequence[Any], noun: str, plural: str | None = None) -> str:
    return f"{len(items)} {noun if len(items) == 1 else (plural or noun + 's')}"
