"""Options every renderer takes, and the one error renderers raise."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from compliance.policy.yaml_source import ConfigError

DEFAULT_GITLAB_SCHEMA = "15.1.4"
"""GitLab ingests only schema versions it ships; 17.x drops 15.2.x reports without a word."""


class RenderError(ConfigError):
    """A report cannot be produced as asked; the message says what to do. A ConfigError, so
    the CLI reports it as one line and exits 2 like any other bad input."""

    def __init__(self, message: str):
        super().__init__([message])


@dataclass(frozen=True)
class RenderOptions:
    gitlab_schema_version: str = DEFAULT_GITLAB_SCHEMA

    @classmethod
    def from_env(cls, gitlab_schema_version: str | None = None) -> RenderOptions:
        value = (
            gitlab_schema_version
            or os.environ.get("COMPLIANCE_GITLAB_SCHEMA_VERSION")
            or DEFAULT_GITLAB_SCHEMA
        )
        if not re.fullmatch(r"\d+\.\d+\.\d+", value):
            raise RenderError(
                f"GitLab schema version {value!r} is not MAJOR.MINOR.PATCH; use e.g. "
                f"{DEFAULT_GITLAB_SCHEMA} (the version your GitLab accepts)"
            )
        return cls(gitlab_schema_version=value)
