"""Manifest kinds: a new one is one file in this package and one line here."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from compliance.manifests.environment_yml import EnvironmentYmlParser
from compliance.manifests.interface import Manifest, ManifestParser
from compliance.manifests.pdm_lock import PdmLockParser
from compliance.manifests.pipfile import PipfileParser
from compliance.manifests.pipfile_lock import PipfileLockParser
from compliance.manifests.poetry_lock import PoetryLockParser
from compliance.manifests.pylock import PylockParser
from compliance.manifests.pyproject import PyprojectParser
from compliance.manifests.requirements import RequirementsParser
from compliance.manifests.setup_cfg import SetupCfgParser
from compliance.manifests.uv_lock import UvLockParser

PARSERS: tuple[ManifestParser, ...] = (
    RequirementsParser(),
    PyprojectParser(),
    PoetryLockParser(),
    UvLockParser(),
    PipfileLockParser(),
    PdmLockParser(),
    PylockParser(),
    PipfileParser(),
    SetupCfgParser(),
    EnvironmentYmlParser(),
)


def parser_for(path: str) -> ManifestParser | None:
    pure = PurePosixPath(path)
    return next((p for p in PARSERS if p.matches(pure)), None)


def is_manifest(path: str) -> bool:
    return parser_for(path) is not None


def parse_manifest(root: Path, path: str) -> Manifest:
    parser = parser_for(path)
    if parser is None:
        raise ValueError(f"{path} is not a manifest the gate reads")
    return parser.parse(root, path)
