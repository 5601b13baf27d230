"""Posting drift alerts to a Slack/Mattermost-compatible webhook.

Delivery is best effort by design: retries with backoff and a timeout, and whatever
happens, the gate's verdict and exit code stay as they are. A failed alert is reported
on stderr, never raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

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
            False, f"drift alert not delivered to {safe_origin(url)}: {describe_failure(exc, url)}"
        )
    finally:
        session.close()
    if response.status_code >= 300:
        return Delivery(
            False, f"drift alert not delivered to {safe_origin(url)}: HTTP {response.status_code}"
        )
    return Delivery(True, f"drift alert sent to {safe_origin(url)}")


def safe_origin(url: str) -> str:
    """A webhook URL as it may be printed: scheme://host[:port]. Its secret is in the path
    or query (Slack's /services/T…/B…/…, `?token=`), sometimes in user:password@."""
    scheme, origin, tail, _ = _split(url)
    shown = f"{scheme}://{origin}" if scheme else origin
    return shown + "/…" if tail else shown


def describe_failure(exc: BaseException, url: str) -> str:
    """`Type: message` of an error from posting to `url`, with the URL's secret parts cut
    out: requests and urllib3 quote the whole URL ("Max retries exceeded with url:
    /services/…?token=…", "Invalid URL '…'")."""
    text = f"{type(exc).__name__}: {exc}"
    _, _, tail, userinfo = _split(url)
    secret = {url, tail, userinfo, *re.split(r"[?#]", tail)}
    variants = {v for s in secret for v in (s, unquote(s), unquote_plus(s), quote(s, safe="/"))}
    for part in sorted((v for v in variants if len(v.strip("/")) > 1), key=len, reverse=True):
        text = text.replace(part, "…")
    return _URL_IN_TEXT.sub(r"\1…", text)


_URL_IN_TEXT = re.compile(r"((?<![A-Za-z])url: )\S+", re.IGNORECASE)  # still quoted after "url:"


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme, host[:port], path?query#fragment, userinfo) by plain string rules: also for
    URLs urllib cannot parse, which are exactly the ones whose errors quote them."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        scheme, rest = "", url.strip()
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, _, host = netloc.rpartition("@")
    return scheme, host, tail, userinfo
