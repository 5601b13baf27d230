"""Regenerate the HTML report screenshots in docs/ (docs/reports.md shows them).

    PYTHONPATH=. .venv/bin/python scripts/report_screenshots.py [docs]

The pages are rendered from the same stored scans the browser tests use
(tests/report_support.py) and shot in headless Chromium over DevTools (tests/cdp.py), at
1400 px (desktop) and 390 px (a phone) wide: the code report from its top, the fleet
report from its fleet section (on the phone: from its matrix). Offline, like the tests.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from compliance.render.data import load_report
from compliance.render.options import RenderOptions
from compliance.render.registry import FORMATS
from compliance.store import Store
from tests import report_support as rs
from tests.cdp import Browser, find_chromium

SIZES = {"": (1400, 900), "-390": (390, 844)}


def main(out: Path) -> None:
    binary = find_chromium()
    if binary is None:
        sys.exit("chromium is not installed (scripts/apt-test.txt)")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "store.db"))
        pages = {"code": (rs.code_history(store), None), "fleet": (rs.fleet(store, 12), True)}
        for name, (scan_id, anchor) in pages.items():
            html = Path(tmp) / f"{name}.html"
            html.write_text(FORMATS["html"].render(load_report(store, scan_id), RenderOptions()))
            for suffix, (width, height) in SIZES.items():
                with Browser(binary, width=width, height=height) as browser:
                    browser.open(html)
                    browser.wait_until("document.body.dataset.ready === '1'")
                    if anchor:
                        browser.eval("document.getElementById('matrix').scrollIntoView()")
                        browser.wait_until("document.querySelector('#matrix table') !== null")
                        if width > 700:
                            browser.eval("document.getElementById('fleet').scrollIntoView()")
                        else:  # the matrix with its heading and legend
                            browser.eval("window.scrollBy(0, -190)")
                    shot = browser.screenshot(out / f"report-{name}{suffix}.png")
                    print(shot)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
