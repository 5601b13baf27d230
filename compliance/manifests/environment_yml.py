"""environment.yml / environment.yaml (conda): the `pip:` section's requirements. Conda
packages themselves are not PyPI packages, so no PyPI advisory applies to them."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from compliance.manifests.common import (
    ManifestError,
    add_requirements,
    line_of,
    read_text,
)
from compliance.manifests.interface import Dependency, Manifest, ManifestParser, SupplyChainLine


class EnvironmentYmlParser(ManifestParser):
    kind = "environment.yml"

    def matches(self, path: PurePosixPath) -> bool:
        name = path.name.lower()
        return name.endswith((".yml", ".yaml")) and name.rsplit(".", 1)[0] in ("environment", "env")

    def parse(self, root: Path, path: str) -> Manifest:
        try:
            text = read_text(root, path)
            data = yaml.safe_load(text)
        except ManifestError as exc:
            return Manifest(path, self.kind, problems=(str(exc),))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            return Manifest(
                path,
                self.kind,
                problems=(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}",),
            )
        if not isinstance(data, dict):
            return Manifest(path, self.kind, problems=(f"{path}:1: not a conda environment file",))
        deps: list[Dependency] = []
        issues: list[SupplyChainLine] = []
        problems: list[str] = []
        for entry in data.get("dependencies") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("pip"), list):
                continue
            items = [str(item).strip() for item in entry["pip"]]
            for option in (i for i in items if i.startswith("-")):
                problems.append(
                    f"{path}:{line_of(text, option)}: pip options in environment files are "
                    f"not read: {option}"
                )
            requirements = [i for i in items if not i.startswith("-")]
            add_requirements(requirements, path, text, "", deps, issues, problems)
        return Manifest(path, self.kind, tuple(deps), tuple(issues), tuple(problems))
