"""Policy, waiver and (later) inventory files → validated models with file:line errors."""

from compliance.policy.loader import LoadedPolicy, load_policy
from compliance.policy.model import Policy
from compliance.policy.waiver_append import append_waiver
from compliance.policy.waivers import Waiver, WaiverEntry, load_waivers
from compliance.policy.yaml_source import ConfigError

__all__ = [
    "ConfigError",
    "LoadedPolicy",
    "Policy",
    "Waiver",
    "WaiverEntry",
    "append_waiver",
    "load_policy",
    "load_waivers",
]
