"""Detection quality: our labelled corpus of small web handlers, scored per class.

The corpus (`benchmarks/corpus/<class>.cases`) is written by us: per vulnerability class,
handler bodies labelled `true` (request data reaches the sink) or `false` (it does not:
parameterised, sanitized, allow-listed, made constant by a condition, a safe API). Each body
reads `value`, a string from the request; a body tagged `[flask]` (etc.) is for that framework
only, any other body is written out once per framework — Flask, Django, FastAPI and aiohttp —
each time with the next of that framework's request sources (query, form, JSON, headers,
cookies, path parameters, the raw body), so the same flaw is seen through every kind of input.
`{reject}` becomes the framework's "400 Bad Request", `HTML(` its HTML response and
`return REDIRECT(` its redirect. Every case is one file, or, when it ends with
`--- file <path>` sections (a template the handler renders), one folder holding the handler
as `app.py` and those files; the tools run once over the whole tree and their findings are
mapped back to the case files (a finding in any file of a case's folder flags the case):

- (a) bandit alone:  bandit -r DIR -f json   (a case is flagged by any finding of medium or
                     high severity, any confidence: what a person reading the report acts on)
- (b) the packs alone: semgrep scan --config policies/semgrep --json (every shipped pack,
                     any finding flags the case)
- (c) the gate:      compliance scan DIR under the shipped policy; a case is flagged when one
                     of its findings is *blocking* (it would make the scan exit 1), so whatever
                     severity table the gate uses is what gets scored
- (d) block:         (c) with `classification.sinks: block`: a bandit sink alone blocks
                     whatever flows in (the shipped `confirmed` blocks only a taint-confirmed
                     flow; docs/weakness-classes.md)

Printed per class: TPR, FPR and TPR - FPR for each, the wall time of each run, and the
targets (issue 14) with PASS/MISS: the gate's TPR - FPR >= 0.6 in every class, >= 0.7 on
average, and in no class below bandit alone.

    flock /tmp/bench.lock .venv/bin/python benchmarks/detection.py [--keep DIR] [--list]

`--list` prints each missed true case and flagged false case per tool.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
TOOLS = ("bandit", "packs", "gate", "block")
GATES = ("gate", "block")
"""The shipped policy, and it with `classification.sinks: block` (weakness.py)."""
TARGET_CLASS, TARGET_MEAN = 0.6, 0.7


@dataclass(frozen=True)
class Framework:
    name: str
    imports: str
    header: str  # between the case's imports and the handler (the app object)
    decorator: str  # {route}: the URL rule
    signature: str  # {params}
    reject: str
    done: str  # the handler's last line when the body returns nothing
    html: str
    redirect: str
    sources: tuple[tuple[str, str, str], ...]  # (route, params, how `value` is read)


PATH = "<path>"

FRAMEWORKS = (
    Framework(
        "flask",
        "from flask import Flask, abort, jsonify, make_response, redirect, "
        "render_template_string, request, send_file, send_from_directory",
        "app = Flask(__name__)\n",
        '@app.route("{route}", methods=["GET", "POST"])\n',
        "def handler({params}):",
        "abort(400)",
        'return jsonify(status="ok")',
        "make_response(",
        "return redirect(",
        (
            ("/item", "", 'value = request.args.get("q", "")'),
            ("/item", "", 'value = request.form.get("q", "")'),
            ("/item", "", 'value = request.get_json(force=True)["q"]'),
            ("/item", "", 'value = request.headers.get("X-Query", "")'),
            ("/item", "", 'value = request.cookies.get("q", "")'),
            ("/item/<value>", "value", ""),
            ("/item", "", 'value = request.values["q"]'),
            ("/item", "", "value = request.get_data(as_text=True)"),
        ),
    ),
    Framework(
        "django",
        "import json\n\nfrom django.http import FileResponse, HttpResponse, "
        "HttpResponseBadRequest, JsonResponse\nfrom django.shortcuts import redirect, render",
        "",
        "",
        "def handler(request{params}):",
        "return HttpResponseBadRequest()",
        'return JsonResponse({"status": "ok"})',
        "HttpResponse(",
        "return redirect(",
        (
            ("", "", 'value = request.GET.get("q", "")'),
            ("", "", 'value = request.POST.get("q", "")'),
            ("", "", 'value = json.loads(request.body)["q"]'),
            ("", "", 'value = request.COOKIES.get("q", "")'),
            ("", ", value", ""),
            ("", "", 'value = request.META.get("HTTP_X_QUERY", "")'),
            ("", "", "value = request.body.decode()"),
        ),
    ),
    Framework(
        "fastapi",
        "from fastapi import Cookie, FastAPI, Header, HTTPException, Query, Request\n"
        "from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, "
        "RedirectResponse",
        "app = FastAPI()\n",
        '@app.get("{route}")\n',
        "async def handler({params}):",
        "raise HTTPException(status_code=400)",
        'return {"status": "ok"}',
        "HTMLResponse(",
        "return RedirectResponse(",
        (
            ("/item", 'value: str = Query("")', ""),
            ("/item", "request: Request", 'value = request.query_params.get("q", "")'),
            ("/item", 'x_query: str = Header("")', "value = x_query"),
            ("/item", "request: Request", 'value = (await request.json())["q"]'),
            ("/item/{value}", "value: str", ""),
            ("/item", 'session: str = Cookie("")', "value = session"),
            ("/item", "request: Request", "value = (await request.body()).decode()"),
        ),
    ),
    Framework(
        "aiohttp",
        "from aiohttp import web",
        "",
        "",
        "async def handler(request):",
        "raise web.HTTPBadRequest()",
        'return web.json_response({"status": "ok"})',
        'web.Response(content_type="text/html", text=',
        "raise web.HTTPFound(",
        (
            ("", "", 'value = request.query.get("q", "")'),
            ("", "", 'value = request.match_info["q"]'),
            ("", "", 'value = (await request.post())["q"]'),
            ("", "", 'value = (await request.json())["q"]'),
            ("", "", "value = await request.text()"),
            ("", "", 'value = request.headers.get("X-Query", "")'),
            ("", "", 'value = request.cookies.get("q", "")'),
        ),
    ),
)


@dataclass(frozen=True)
class Case:
    cls: str
    name: str
    label: bool
    framework: str
    path: str  # relative to the corpus tree: the handler's file, or the case's folder

    def flagged_by(self, paths: set[str]) -> bool:
        return self.path in paths or any(p.startswith(self.path + "/") for p in paths)


Block = tuple[bool, str, tuple[str, ...], str, str, tuple[tuple[str, str], ...]]
FILE_SECTION = re.compile(r"^--- file (\S+)\n", flags=re.M)


def _blocks(text: str) -> list[Block]:
    """(label, name, frameworks, module-level lines, body, extra files) of every case in a
    .cases file."""
    found = []
    for chunk in re.split(r"^=== ", text, flags=re.M)[1:]:
        head, _, rest = chunk.partition("\n")
        match = re.fullmatch(r"(true|false) ([\w-]+)(?: \[(\w+)\])?", head.strip())
        if not match:
            raise SystemExit(f"corpus: bad case header {head!r}")
        top, sep, body = rest.partition("---\n")
        if not sep:
            raise SystemExit(f"corpus: case {head!r} has no '---' line")
        only = (match.group(3),) if match.group(3) else tuple(f.name for f in FRAMEWORKS)
        body, *sections = FILE_SECTION.split(body)
        files = tuple(zip(sections[::2], sections[1::2], strict=True))
        found.append((match.group(1) == "true", match.group(2), only, top, body, files))
    return found


def _render(fw: Framework, index: int, top: str, body: str) -> str:
    route, params, read = fw.sources[index % len(fw.sources)]
    body = (
        body.replace("{reject}", fw.reject)
        .replace("return REDIRECT(", fw.redirect)
        .replace("HTML(", fw.html)
    )
    lines = [read] if read else []
    lines += body.rstrip("\n").splitlines()
    if not any(re.match(r"(return|raise) ", line) for line in lines):
        lines.append(fw.done)
    handler = "\n".join("    " + line if line else "" for line in lines)
    return (
        f"{fw.imports}\n{top.rstrip()}\n\n{fw.header}\n"
        + fw.decorator.format(route=route)
        + fw.signature.format(params=params)
        + "\n"
        + handler
        + "\n"
        + (
            '\n\napp = web.Application()\napp.router.add_route("*", "/item/{q}", handler)\n'
            if fw.name == "aiohttp"
            else ""
        )
    )


def write_corpus(tree: Path) -> list[Case]:
    cases: list[Case] = []
    by_name = {f.name: f for f in FRAMEWORKS}
    for source in sorted(CORPUS.glob("*.cases")):
        cls = source.stem
        (tree / cls).mkdir(parents=True)
        counter: dict[str, int] = defaultdict(int)
        for label, name, only, top, body, files in _blocks(source.read_text()):
            for fw_name in only:
                fw = by_name[fw_name]
                rel = f"{cls}/{'true' if label else 'false'}_{name}_{fw_name}"
                handler = tree / (f"{rel}/app.py" if files else f"{rel}.py")
                handler.parent.mkdir(parents=True, exist_ok=True)
                handler.write_text(_render(fw, counter[fw_name], top, body))
                for extra, text in files:
                    (tree / rel / extra).parent.mkdir(parents=True, exist_ok=True)
                    (tree / rel / extra).write_text(text)
                rel = rel if files else f"{rel}.py"
                counter[fw_name] += 1
                cases.append(Case(cls, name, label, fw_name, rel))
    return cases


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} exited {run.returncode}: {run.stderr[-2000:]}")
    return wall, run.returncode


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found next to {sys.executable} or on PATH")
    return found


def run_bandit(tree: Path, work: Path) -> tuple[set[str], float]:
    out = work / "bandit.json"
    wall, _ = _timed([_tool("bandit"), "-r", str(tree), "-f", "json", "-q", "-o", str(out)])
    flagged = {
        str(Path(r["filename"]).resolve().relative_to(tree))
        for r in json.loads(out.read_text())["results"]
        if r["issue_severity"] in ("MEDIUM", "HIGH")
    }
    return flagged, wall


def run_packs(tree: Path, work: Path) -> tuple[set[str], float]:
    out = work / "semgrep.json"
    from compliance.paths import shipped_policy

    wall, _ = _timed(
        [
            _tool("semgrep"),
            "scan",
            "--config",
            str(shipped_policy("semgrep")),
            "--json",
            "--metrics=off",
            "--disable-version-check",
            "--timeout=30",
            "--max-target-bytes=0",
            "-o",
            str(out),
            str(tree),
        ],
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0"},
    )
    report = json.loads(out.read_text())
    if report.get("errors"):
        raise SystemExit(f"semgrep reported errors: {json.dumps(report['errors'])[:2000]}")
    flagged = {
        str(Path(r["path"]).resolve().relative_to(tree))
        for r in report["results"]
        if r["extra"]["severity"] == "ERROR"
    }
    return flagged, wall


def run_sinks_block(tree: Path, work: Path) -> tuple[set[str], float]:
    policy = work / "block" / "policy.yml"
    policy.parent.mkdir(exist_ok=True)
    policy.write_text("classification:\n  sinks: block\n")
    return run_gate(tree, work, policy)


def run_gate(tree: Path, work: Path, policy: Path | None = None) -> tuple[set[str], float]:
    name = "gate" if policy is None else policy.parent.name
    out = work / f"{name}.json"
    chosen = [] if policy is None else ["--policy", str(policy)]
    env = {
        **os.environ,
        "COMPLIANCE_CACHE_DIR": "off",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    wall, code = _timed(
        [
            sys.executable,
            "-m",
            "compliance",
            "scan",
            str(tree),
            "--no-baseline",
            "--db",
            f"sqlite:///{work / f'{name}.db'}",
            *chosen,
            "--target",
            "detection-corpus",
            "--output",
            f"json:{out}",
        ],
        env=env,
    )
    report = json.loads(out.read_text())
    if report["scan"].get("errors"):
        raise SystemExit(f"compliance scan could not decide: {report['scan']['errors']}")
    flagged = {f["path"] for f in report["findings"] if f.get("blocking")}
    if bool(flagged) != (code == 1):
        raise SystemExit(f"compliance scan exited {code} but {len(flagged)} blocking findings")
    return flagged, wall


def score(cases: list[Case], flagged: dict[str, set[str]]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for cls in sorted({c.cls for c in cases}):
        mine = [c for c in cases if c.cls == cls]
        pos = [c for c in mine if c.label]
        neg = [c for c in mine if not c.label]
        row: dict[str, float] = {"true": len(pos), "false": len(neg)}
        for tool in TOOLS:
            tpr = sum(c.flagged_by(flagged[tool]) for c in pos) / len(pos)
            fpr = sum(c.flagged_by(flagged[tool]) for c in neg) / len(neg)
            row[f"{tool}.tpr"], row[f"{tool}.fpr"], row[f"{tool}.j"] = tpr, fpr, tpr - fpr
        table[cls] = row
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", type=Path, help="write the corpus tree here and keep it")
    parser.add_argument("--list", action="store_true", help="print every miss per tool")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="detection-"))
    tree = (args.keep or work / "corpus").resolve()
    if args.keep and tree.exists():
        shutil.rmtree(tree)
    try:
        cases = write_corpus(tree)
        print(f"corpus: {len(cases)} cases ({sum(c.label for c in cases)} true) in {tree}")
        flagged: dict[str, set[str]] = {}
        walls: dict[str, float] = {}
        runs = {"bandit": run_bandit, "packs": run_packs, "gate": run_gate}
        for tool, run in (*runs.items(), ("block", run_sinks_block)):
            flagged[tool], walls[tool] = run(tree, work)
        table = score(cases, flagged)
        _print(table, walls)
        if args.list:
            for tool in TOOLS:
                for c in cases:
                    if c.flagged_by(flagged[tool]) != c.label:
                        kind = "missed" if c.label else "flagged"
                        print(f"  {tool:6} {kind:7} {c.path}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _print(table: dict[str, dict[str, float]], walls: dict[str, float]) -> None:
    head = f"{'class':18} {'T/F':>7}" + "".join(f"  {t + ' TPR  FPR  TPR-FPR':>26}" for t in TOOLS)
    print(head)
    for cls, row in table.items():
        cells = "".join(
            f"  {row[f'{t}.tpr']:>10.2f} {row[f'{t}.fpr']:4.2f} {row[f'{t}.j']:+8.2f}"
            for t in TOOLS
        )
        print(f"{cls:18} {int(row['true']):>3}/{int(row['false']):<3}{cells}")
    means = {t: sum(r[f"{t}.j"] for r in table.values()) / len(table) for t in TOOLS}
    print(f"{'average TPR-FPR':26}" + "".join(f"  {means[t]:>25.2f}" for t in TOOLS))
    print("wall time: " + ", ".join(f"{t} {walls[t]:.1f} s" for t in TOOLS))
    for gate in GATES:
        _print_targets(gate, table, means[gate])


def _print_targets(gate: str, table: dict[str, dict[str, float]], mean: float) -> None:
    said = {"gate": "shipped policy", "block": "classification.sinks: block"}[gate]
    print(f"targets ({gate}: blocking verdict, {said}):")
    for cls, row in table.items():
        mark = "PASS" if row[f"{gate}.j"] >= TARGET_CLASS else "MISS"
        print(f"  {mark}  {cls:18} TPR-FPR {row[f'{gate}.j']:+.2f}  (>= {TARGET_CLASS})")
    print(
        f"  {'PASS' if mean >= TARGET_MEAN else 'MISS'}  average"
        f"{'':12} TPR-FPR {mean:+.2f}  (>= {TARGET_MEAN})"
    )
    below = [c for c, r in table.items() if r[f"{gate}.j"] < r["bandit.j"]]
    print(
        f"  {'PASS' if not below else 'MISS'}  no class below bandit alone"
        + (f" (below: {', '.join(below)})" if below else "")
    )


if __name__ == "__main__":
    sys.exit(main())
