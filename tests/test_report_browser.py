"""The HTML report in a real headless Chromium, driven over the DevTools protocol.

Offline: the report is a local file and Chromium runs with background networking off.
Chromium comes from scripts/apt-test.txt (Debian `chromium`); its absence is a failure, not
a skip, because this is the only test of what a person actually sees.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.findings import Severity
from compliance.render.data import load_report
from compliance.render.options import RenderOptions
from compliance.render.registry import FORMATS
from compliance.store import Store
from tests import report_support as rs
from tests.cdp import Browser, find_chromium

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html")
    store = Store.open(str(folder / "store.db"))
    many = [
        rs.code(
            f"R{i % 7}",
            f"pkg/mod{i % 40}.py",
            i,
            Severity(i % 5),
            scanner=("bandit", "semgrep")[i % 2],
            title=f"finding number {i}",
            evidence=f"value_{i} = eval(data)",
            references=("CWE-95",),
        )
        for i in range(1, 351)
    ]
    long_ids = [
        rs.control_check(
            f"db-{h}.a-rather-long-datacenter-name.example.internal",
            (f"unattended-upgrades-installed-and-enabled-{c}", "long id", ("CIS 1.9",), "yes"),
            "fail" if h == c else "pass",
            "no" if h == c else "yes",
        )
        for h in range(3)
        for c in range(4)
    ]
    ids = {
        "first": rs.record(store, many[:5], target="first/repo"),
        "long": rs.record(store, [], target="fleet/long", kind="hosts", host_checks=long_ids),
        "code": rs.code_history(store),
        "fleet": rs.fleet(store),
        "hostile": rs.hostile(store),
        "many": rs.record(store, many, target="big/repo"),
    }
    result = {}
    for name, scan_id in ids.items():
        path = folder / f"{name}.html"
        path.write_text(FORMATS["html"].render(load_report(store, scan_id), RenderOptions()))
        result[name] = path
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.fail(
            "chromium is not installed: run scripts/test.sh (it installs scripts/apt-test.txt)"
        )
    with Browser(binary) as b:
        yield b


def load(browser: Browser, path: Path) -> None:
    browser.open(path)
    browser.wait_until("document.body.dataset.ready === '1'")


def rows(browser: Browser) -> list[list[str]]:
    result: list[list[str]] = browser.eval(
        "Array.from(document.querySelectorAll('#rows tr.row')).map("
        "tr => Array.from(tr.cells).map(td => td.textContent))"
    )
    return result


def type_into(browser: Browser, selector: str, text: str) -> None:
    """Focus the field and type like a person (input events), then let the debounce run."""
    browser.eval(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
        "e.focus(); e.select(); })()"
    )
    browser.send("Input.insertText", text=text)
    browser.wait_until("new Promise(r => setTimeout(() => r(true), 300))")


def choose(browser: Browser, selector: str, label: str) -> None:
    browser.eval(
        f"""(() => {{
          const s = document.querySelector({json.dumps(selector)});
          const o = Array.from(s.options).find(o => o.textContent === {json.dumps(label)});
          s.value = o.value; s.dispatchEvent(new Event('change'));
        }})()"""
    )


def click(browser: Browser, selector: str) -> None:
    found = browser.eval(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
        "if (!e) return false; e.scrollIntoView(); const r = e.getBoundingClientRect(); "
        "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
    )
    assert found, f"nothing matches {selector}"
    for kind in ("mousePressed", "mouseReleased"):
        browser.send(
            "Input.dispatchMouseEvent",
            type=kind,
            x=found[0],
            y=found[1],
            button="left",
            clickCount=1,
        )


def test_code_report_loads_clean_and_looks_right(browser, pages, tmp_path):
    load(browser, pages["code"])
    assert browser.problems() == []
    assert browser.eval("document.querySelector('.verdict-word').textContent") == "FAIL"
    assert "No: 3 finding(s) block" in browser.eval(
        "document.querySelector('.question').textContent"
    )
    shot = browser.screenshot(tmp_path / "code.png", full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    table = rows(browser)
    assert len(table) == 6
    assert [r[0] for r in table[:3]] == ["critical", "high", "high"]  # blocking first
    assert all("blocks" in r[1] for r in table[:3])
    assert browser.eval("document.querySelectorAll('svg.trend g.bar').length") == 3
    debt = browser.eval("document.querySelector('.debt').textContent")
    assert "1 expired waiver" in debt


def test_search_filter_sort_and_details(browser, pages):
    load(browser, pages["code"])
    type_into(browser, "#q", "shell=true")
    assert [r[3] for r in rows(browser)] == ["bandit B602"]
    type_into(browser, "#q", "")
    choose(browser, "#f-status", "waived")
    assert [r[3] for r in rows(browser)] == ["bandit B101"]
    choose(browser, "#f-status", "any")
    choose(browser, "#f-scanner", "pip-audit")
    assert [r[2] for r in rows(browser)] == ["idna==3.6 (requirements.txt)"]
    choose(browser, "#f-scanner", "any")
    type_into(browser, "#f-where", "app/")
    assert {r[2].split(":")[0] for r in rows(browser)} == {
        "app/db.py",
        "app/run.py",
        "app/conf.py",
        "app/settings.py",
    }
    type_into(browser, "#f-where", "")
    click(browser, "#f-blocking")
    assert len(rows(browser)) == 3
    click(browser, "#f-blocking")
    click(browser, "#f-new")
    assert {r[3] for r in rows(browser)} == {"semgrep python.sqli", "bandit B105"}
    click(browser, "#f-new")

    click(browser, "th[data-sort=where]")
    wheres = [r[2] for r in rows(browser)]
    assert wheres == sorted(wheres, key=str.lower)
    click(browser, "th[data-sort=where]")
    assert [r[2] for r in rows(browser)] == sorted(wheres, key=str.lower, reverse=True)

    type_into(browser, "#q", "subprocess")
    click(browser, "#rows tr.row")
    detail = browser.eval("document.querySelector('tr.open-detail').textContent")
    assert "subprocess.call(cmd, shell=True)" in detail and "Pass a list of arguments" in detail
    hrefs = browser.eval(
        "Array.from(document.querySelectorAll('tr.open-detail a')).map(a => a.href)"
    )
    assert "https://cwe.mitre.org/data/definitions/78.html" in hrefs
    assert browser.problems() == []


def test_paging_through_many_findings(browser, pages):
    load(browser, pages["many"])
    assert len(rows(browser)) == 100
    assert "rows 1\u2013100 of 350" in browser.eval("document.getElementById('page').textContent")
    first = rows(browser)[0]
    click(browser, "#next")
    assert "rows 101\u2013200 of 350" in browser.eval("document.getElementById('page').textContent")
    assert rows(browser)[0] != first
    choose(browser, "#size", "1000")
    assert len(rows(browser)) == 350
    choose(browser, "#f-severity", "critical")
    sevs = {r[0] for r in rows(browser)}
    assert sevs == {"critical"} and len(rows(browser)) == 70
    assert browser.problems() == []


def show_matrix(browser: Browser) -> None:
    """The matrix is drawn when it scrolls near the screen, as for a person reading."""
    browser.eval("document.getElementById('matrix').scrollIntoView()")
    browser.wait_until("document.querySelectorAll('#matrix .cell').length > 0")


def test_fleet_matrix_explains_each_cell(browser, pages, tmp_path):
    load(browser, pages["fleet"])
    show_matrix(browser)
    assert browser.problems() == []
    cells = browser.eval("document.querySelectorAll('#matrix .cell').length")
    assert cells == 6 * len(rs.CONTROLS)
    kinds = browser.eval(
        "Array.from(new Set(Array.from(document.querySelectorAll('#matrix .cell'))"
        ".map(c => c.className)))"
    )
    assert {"cell c-pass", "cell c-fail", "cell c-not-applicable", "cell c-error"} <= set(kinds)
    click(browser, "#matrix .cell.c-fail")
    detail = browser.eval("document.getElementById('cell-detail').textContent")
    assert "expected" in detail and "observed" in detail and "fail" in detail
    click(browser, "#matrix .cell.c-error")
    assert "timed out" in browser.eval("document.getElementById('cell-detail').textContent")
    click(browser, "#matrix-failing")
    # web-00, -02 and -04 fail a control, web-03 errors on one; -01 (n/a) and -05 pass.
    shown = browser.eval(
        "Array.from(document.querySelectorAll('#matrix tbody th')).map(t => t.textContent)"
    )
    assert shown == [f"web-0{h}.example.internal" for h in (0, 4, 2, 3)]
    browser.screenshot(tmp_path / "fleet.png", full_page=True)


SIDE_EFFECTS = (
    "({xss: window.__xss === undefined ? null : window.__xss,"
    " imgs: document.querySelectorAll('img').length,"
    " scripts: document.querySelectorAll('script').length,"
    " handlers: Array.from(document.querySelectorAll('*')).filter("
    "   e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,"
    " badLinks: Array.from(document.querySelectorAll('a[href]'))"
    "   .map(a => a.getAttribute('href')).filter(h => !/^(https?:|#)/.test(h))})"
)
CLEAN = {"xss": None, "imgs": 0, "scripts": 2, "handlers": 0, "badLinks": []}


def test_hostile_content_renders_as_text_and_runs_nothing(browser, pages):
    load(browser, pages["hostile"])
    assert browser.eval(SIDE_EFFECTS) == CLEAN
    # Open every finding's details and every matrix cell: that is where payloads are drawn.
    count = browser.eval("document.querySelectorAll('#rows tr.row').length")
    assert count == 5
    for i in range(count):
        browser.eval(f"document.querySelectorAll('#rows tr.row')[{i}].click()")
        assert browser.eval("document.querySelectorAll('tr.open-detail').length") == 1
        assert browser.eval(SIDE_EFFECTS) == CLEAN
        text = browser.eval("document.querySelector('tr.open-detail').innerText")
        payloads = (rs.XSS_SCRIPT, rs.XSS_IMG, rs.XSS_JS_URL, rs.XSS_COMMENT)
        assert any(p in text for p in payloads)  # the evidence is shown, as text
    show_matrix(browser)
    click(browser, "#matrix .cell")
    assert browser.eval(SIDE_EFFECTS) == CLEAN
    text = browser.eval("document.body.innerText")
    for payload in (rs.XSS_SCRIPT, rs.XSS_IMG, rs.XSS_JS_URL, rs.XSS_COMMENT):
        assert payload in text
    assert browser.problems() == []  # no dialog, no console error, no CSP violation


def test_report_prints(browser, pages, tmp_path):
    """Print media hides the controls and keeps the content; Chromium can print it to PDF."""
    load(browser, pages["fleet"])
    browser.send("Emulation.setEmulatedMedia", media="print")
    try:
        hidden = browser.eval(
            "['.controls', '.pager', '.toc'].map(s => getComputedStyle(document.querySelector(s))"
            ".display)"
        )
        assert hidden == ["none", "none", "none"]
        assert (
            browser.eval("getComputedStyle(document.querySelector('.verdict')).display") == "flex"
        )
    finally:
        browser.send("Emulation.setEmulatedMedia", media="")
    pdf = browser.send("Page.printToPDF", printBackground=True)["data"]
    data = base64.b64decode(pdf)
    (tmp_path / "fleet.pdf").write_bytes(data)
    assert data.startswith(b"%PDF") and len(data) > 20_000


WIDTHS = (1400, 390)


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def sized(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """A browser as wide as a desktop window, and as a phone (390 px)."""
    binary = find_chromium()
    if binary is None:
        pytest.fail("chromium is not installed: run scripts/test.sh")
    with Browser(binary, width=request.param, height=844) as b:
        yield b


def load_all(browser: Browser, path: Path) -> None:
    """Load, and draw the matrix too (it is drawn when scrolled near)."""
    load(browser, path)
    browser.eval("document.getElementById('matrix')?.scrollIntoView()")
    browser.wait_until(
        "!document.getElementById('matrix') || !!document.querySelector('#matrix table')"
    )


@pytest.mark.parametrize("name", ["code", "fleet", "hostile", "many", "first", "long"])
def test_no_report_scrolls_sideways(sized, pages, name):
    """At 390 px the page used to be up to 1076 px wide (grids with a 420 px minimum, the
    findings table's fixed columns, long unbreakable titles). Now nothing sticks out of
    the page; wide tables and the matrix scroll inside their own box."""
    load_all(sized, pages[name])
    assert sized.problems() == []
    width = sized.eval("document.documentElement.clientWidth")
    assert sized.eval("document.documentElement.scrollWidth") <= width
    sticking_out = sized.eval(
        """Array.from(document.querySelectorAll('main *, header *, footer *'))
             .filter(e => !e.closest('.scroll, table.compact, svg'))
             .filter(e => e.getBoundingClientRect().right
                             > document.documentElement.clientWidth + 0.5)
             .map(e => e.tagName + '.' + e.className)"""
    )
    assert sticking_out == []


def test_at_390_px_each_finding_is_one_block_with_its_title_on_a_line_of_its_own(sized, pages):
    load(sized, pages["code"])
    layout = sized.eval(
        """Array.from(document.querySelectorAll('#rows tr.row')).map(tr => {
             const r = tr.getBoundingClientRect(), t = tr.cells[4].getBoundingClientRect();
             return [r.width, t.width, getComputedStyle(tr).display];
           })"""
    )
    assert len(layout) == 6
    width = sized.eval("document.querySelector('#findings').getBoundingClientRect().width")
    for row_width, title_width, display in layout:
        assert row_width <= width + 0.5
        if sized.width == 390:
            assert display == "flex" and title_width >= row_width - 10  # the whole line
        else:
            assert display == "table-row"


def test_matrix_column_headers_are_readable(sized, pages):
    """Control ids stand rotated, at a readable size; one too long for its header is cut
    with "…" and its tooltip names it whole, as it does a cut host name."""
    load_all(sized, pages["long"])
    headers = sized.eval(
        """Array.from(document.querySelectorAll('#matrix th.control')).map(th => {
             const s = getComputedStyle(th);
             return [th.textContent, th.title, parseFloat(s.fontSize), s.writingMode,
                     th.scrollHeight > th.clientHeight + 1, s.textOverflow];
           })"""
    )
    assert len(headers) == 4
    for text, title, size, mode, cut, overflow in headers:
        assert text.startswith("unattended-upgrades-installed-and-enabled-")
        assert size >= 12 and mode == "vertical-rl"
        assert title.startswith(text + ": ")  # the whole id and the check's title
        assert overflow == "ellipsis" and cut  # 44 characters do not fit 12em: cut, told
    hosts = sized.eval(
        "Array.from(document.querySelectorAll('#matrix tbody th.host')).map(th => "
        "[th.textContent, th.title, th.scrollWidth > th.clientWidth])"
    )
    assert len(hosts) == 3 and all(text == title for text, title, _ in hosts)
    assert all(cut for *_, cut in hosts)  # 50 characters: cut at both widths, still told


def test_a_first_scan_has_no_trend_no_new_list_and_says_why(browser, pages):
    load(browser, pages["first"])
    assert browser.eval("document.querySelectorAll('svg.trend').length") == 0
    text = browser.eval("document.getElementById('summary').innerText")
    assert "Trend: one scan only" in text and "no history: the first scan" in text
    changes = browser.eval("document.getElementById('changes')")
    assert changes is not None
    assert browser.eval("document.querySelectorAll('#changes table').length") == 0
    assert "nothing is marked new or fixed" in browser.eval(
        "document.getElementById('changes').innerText"
    )
    assert browser.eval("document.getElementById('f-new').disabled") is True
    assert not any("new" in r[1] for r in rows(browser))  # no "· new" on every row


def test_scanner_errors_are_shown_once(browser, pages):
    load(browser, pages["hostile"])
    body = browser.eval("document.body.innerText")
    assert body.count("garbage") == 1
    assert "could not decide: 1 problem(s), listed below" in browser.eval(
        "document.querySelector('.reasons').innerText"
    )
