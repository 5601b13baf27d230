"""Posting drift alerts to a Slack/Mattermost-compatible webhook.

Delivery is best effort by design: retries with backoff and a timeout, and whatever
happens, the gate's verdict and exit code stay as they are. A failed alert is reported
on stderr, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from compliance.ops.drift import Drift, message

RETRIES = 3
BACKOFF = 0.5  # seconds, doubled per retry
TIMEOUT = (5.0, 10.0)  # connect, read


@dataclass(frozen=True)
class Delivery:
    sent: bool
    detail: str


def notify(
    url: str,
    drift: Drift,
    *,
    timeout: tuple[float, float] = TIMEOUT,
    retries: int = RETRIES,
    backoff: float = BACKOFF,
) -> Delivery:
    if drift.empty:
        return Delivery(False, "no regressions since the previous run; nothing sent")
    retry = Retry(
        total=retries,
        backoff_factor=backoff,
        allowed_methods=None,
        status_forcelist=(408, 425, 429, 500, 502, 503, 504),
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    try:
        response = session.post(url, json={"text": message(drift)}, timeout=timeout)
    except requests.RequestException as exc:
        return Delivery(
            False, f"drift alert not delivered to {_safe(url)}: {type(exc).__name__}: {exc}"
        )
    finally:
        session.close()
    if response.status_code >= 300:
        return Delivery(
            False, f"drift alert not delivered to {_safe(url)}: HTTP {response.status_code}"
        )
    return Delivery(True, f"drift alert sent to {_safe(url)}")


def _safe(url: str) -> str:
    """Webhook URLs carry their secret in the path: show the host only."""
    parts = url.split("/")
    return "/".join(parts[:3]) + "/…" if len(parts) > 3 else url
