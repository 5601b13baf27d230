"""Official schemas when ../shared is present, and our own minimal structural schemas always.

The official SARIF (OASIS) and GitLab schema files are not copied into this repository:
their licence texts are not in the files, so tests read them from ../shared/schemas when
that folder exists. The minimal schemas below are written here from the formats' documented
required fields and patterns (what GitLab and SARIF consumers reject), so a checkout without
../shared still checks the structure that matters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SHARED_SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "schemas"
OFFICIAL = {
    "sarif": "sarif-schema-2.1.0.json",
    "gitlab-sast": "sast-report-format-15.2.1.json",
    "gitlab-dependency-scanning": "dependency-scanning-report-format-15.2.1.json",
}

URL = {"type": "string", "pattern": r"^https?://[^\s<>\"']+$"}
GITLAB_TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"}
IDENTIFIER = {
    "type": "object",
    "required": ["type", "name", "value"],
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "value": {"type": "string", "minLength": 1},
        "url": URL,
    },
}


def _gitlab(scan_type: str, location: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["version", "scan", "vulnerabilities"],
        "properties": {
            "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
            "schema": URL,
            "scan": {
                "type": "object",
                "required": ["analyzer", "scanner", "type", "start_time", "end_time", "status"],
                "properties": {
                    "type": {"const": scan_type},
                    "start_time": GITLAB_TIME,
                    "end_time": GITLAB_TIME,
                    "status": {"enum": ["success", "failure"]},
                    "analyzer": {"type": "object", "required": ["id", "name", "version", "vendor"]},
                    "scanner": {"type": "object", "required": ["id", "name", "version", "vendor"]},
                    "messages": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["level", "value"],
                            "properties": {"level": {"enum": ["info", "warn", "fatal"]}},
                        },
                    },
                },
            },
            "vulnerabilities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "identifiers", "location", "severity", "name"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1},
                        "name": {"type": "string", "maxLength": 255},
                        "severity": {
                            "enum": ["Info", "Unknown", "Low", "Medium", "High", "Critical"]
                        },
                        "solution": {"type": "string", "maxLength": 7000},
                        "identifiers": {"type": "array", "minItems": 1, "items": IDENTIFIER},
                        "links": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["url"],
                                "properties": {"url": URL},
                            },
                        },
                        "location": location,
                    },
                },
            },
        },
    }


MINIMAL: dict[str, dict[str, Any]] = {
    "sarif": {
        "type": "object",
        "required": ["version", "runs"],
        "properties": {
            "version": {"const": "2.1.0"},
            "$schema": URL,
            "runs": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["tool", "results"],
                    "properties": {
                        "tool": {
                            "type": "object",
                            "required": ["driver"],
                            "properties": {
                                "driver": {
                                    "type": "object",
                                    "required": ["name", "rules"],
                                    "properties": {
                                        "rules": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["id", "shortDescription", "help"],
                                                "properties": {
                                                    "helpUri": URL,
                                                    "help": {
                                                        "type": "object",
                                                        "required": ["text"],
                                                    },
                                                },
                                            },
                                        }
                                    },
                                }
                            },
                        },
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["ruleId", "message", "partialFingerprints", "level"],
                                "properties": {
                                    "level": {"enum": ["none", "note", "warning", "error"]},
                                    "message": {"type": "object", "required": ["text"]},
                                    "baselineState": {
                                        "enum": ["new", "unchanged", "updated", "absent"]
                                    },
                                    "suppressions": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["kind"],
                                            "properties": {
                                                "kind": {"enum": ["inSource", "external"]},
                                                "status": {
                                                    "enum": ["accepted", "underReview", "rejected"]
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "gitlab-sast": _gitlab(
        "sast",
        {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "minLength": 1, "pattern": r"^[^/]"}},
        },
    ),
    "gitlab-dependency-scanning": _gitlab(
        "dependency_scanning",
        {
            "type": "object",
            "required": ["file", "dependency"],
            "properties": {
                "file": {"type": "string", "minLength": 1},
                "dependency": {
                    "type": "object",
                    "required": ["package", "version"],
                    "properties": {"package": {"type": "object", "required": ["name"]}},
                },
            },
        },
    ),
    # GitLab Code Quality: the CodeClimate issue fields GitLab documents as required.
    "codequality": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["description", "check_name", "fingerprint", "severity", "location"],
            "properties": {
                "description": {"type": "string", "minLength": 1},
                "check_name": {"type": "string", "minLength": 1},
                "fingerprint": {"type": "string", "minLength": 1},
                "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
                "location": {
                    "type": "object",
                    "required": ["path", "lines"],
                    "properties": {
                        "path": {"type": "string", "minLength": 1, "pattern": r"^(?!/)(?!\./)"},
                        "lines": {
                            "type": "object",
                            "required": ["begin"],
                            "properties": {"begin": {"type": "integer", "minimum": 1}},
                        },
                    },
                },
            },
        },
    },
}


def official_schema(fmt: str) -> dict[str, Any] | None:
    name = OFFICIAL.get(fmt)
    if name is None or not (SHARED_SCHEMAS / name).is_file():
        return None
    loaded: dict[str, Any] = json.loads((SHARED_SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


def errors(schema: dict[str, Any], document: Any) -> list[str]:
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(document)
    ]
