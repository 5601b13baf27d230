"""A PEP 503 package index on loopback, serving tiny wheels written for the tests.

pip resolves against it exactly as against PyPI (`pip install --dry-run --report`); no
byte leaves 127.0.0.1. The wheels hold only metadata: pip reads Requires-Dist from them
and installs nothing."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    dist = f"{name.replace('-', '_')}-{version}"
    wheel = folder / "simple" / name / f"{dist}-py3-none-any.whl"
    wheel.parent.mkdir(parents=True, exist_ok=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    files = {
        f"{dist}.dist-info/METADATA": metadata,
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}.dist-info/RECORD,,\n"
    files[f"{dist}.dist-info/RECORD"] = record
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def write_index(folder: Path) -> None:
    """index.html for every project folder: links with sha256 fragments, as PyPI gives."""
    simple = folder / "simple"
    projects = sorted(p for p in simple.iterdir() if p.is_dir())
    for project in projects:
        links = "".join(
            f'<a href="{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">{w.name}</a>\n'
            for w in sorted(project.glob("*.whl"))
        )
        (project / "index.html").write_text(f"<html><body>{links}</body></html>\n")
    root_links = "".join(f'<a href="{p.name}/">{p.name}</a>\n' for p in projects)
    (simple / "index.html").write_text(f"<html><body>{root_links}</body></html>\n")


@contextmanager
def serve_index(folder: Path) -> Iterator[str]:
    """The index's simple URL on an ephemeral loopback port, for the block's length."""
    write_index(folder)
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
