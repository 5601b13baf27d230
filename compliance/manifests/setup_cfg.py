"""setup.cfg: `[options] install_requires` and `[options.extras_require]`, read with
configparser as setuptools does."""

from __future__ import annotations

import configparser
from pathlib import Path, PurePosixPath

from compliance.manifests.common import (
    ManifestError,
    add_requirements,
    read_text,
)
from compliance.manifests.interface import Dependency, Manifest, ManifestParser, SupplyChainLine


class SetupCfgParser(ManifestParser):
    kind = "setup.cfg"

    def matches(self, path: PurePosixPath) -> bool:
        return path.name == "setup.cfg"

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text = read_text(root, path)
            config = configparser.ConfigParser(interpolation=None)
            config.read_string(text, source=path)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),))
        except configparser.Error as exc:
            line = getattr(exc, "lineno", None)
            return Manifest(
                path,
                self.kind,
                problems=(f"{path}:{line or 1}: cannot be read: {' '.join(str(exc).split())}",),
            )
        groups: list[tuple[str, str]] = []
        if config.has_option("options", "install_requires"):
            groups.append(("", config.get("options", "install_requires")))
        if config.has_section("options.extras_require"):
            groups += [(k, v) for k, v in config.items("options.extras_require")]
        deps: list[Dependency] = []
        issues: list[SupplyChainLine] = []
        problems: list[str] = []
        for group, value in groups:
            items = [i.split("#", 1)[0].strip().rstrip(",") for i in value.splitlines()]
            add_requirements([i for i in items if i], path, text, group, deps, issues, problems)
        return Manifest(path, self.kind, tuple(deps), tuple(issues), tuple(problems))
