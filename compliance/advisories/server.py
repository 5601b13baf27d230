"""An OSV-compatible HTTP API over an AdvisoryIndex, for pip-audit and other OSV clients.

The endpoints and shapes are osv.dev's, so `pip-audit --vulnerability-service osv
--osv-url http://HOST:PORT/v1/query` works unchanged:

- `POST /v1/query` {"package": {"name", "ecosystem"} | {"purl"}, "version"?} →
  {"vulns": [full records]}, or {} when nothing matches (pip-audit sends exactly this,
  one request per dependency, with the canonical name and `str(Version)`);
- `POST /v1/querybatch` {"queries": [...]} → {"results": [{"vulns": [{"id", "modified"}]}]};
- `GET /v1/vulns/{id}` → one full record (how the pip-audit scanner reads severities).

Only PyPI is served. A query for another ecosystem or by commit is a 400 saying so, never
an empty answer: a client must not read "not covered" as "not vulnerable".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from compliance.advisories.index import AdvisoryIndex
from compliance.advisories.matching import PYPI

MAX_BODY = 8 * 1024 * 1024
MAX_BATCH = 1000  # osv.dev's limit per querybatch


class QueryError(Exception):
    """A request the mirror cannot answer truthfully (HTTP 400 with this message)."""


def parse_query(query: Any) -> tuple[str, str | None]:
    """(package name, version or None) from one OSV query object."""
    if not isinstance(query, dict):
        raise QueryError("a query must be a JSON object")
    if query.get("commit"):
        raise QueryError("commit queries are not supported: this mirror matches PyPI versions")
    package = query.get("package")
    if not isinstance(package, dict):
        raise QueryError("'package' is required")
    version = query.get("version")
    if version is not None and not isinstance(version, str):
        raise QueryError("'version' must be a string")
    purl = package.get("purl")
    if purl:
        purl_name, purl_version = _parse_purl(str(purl))
        if version and purl_version and version != purl_version:
            raise QueryError("the purl's version and 'version' differ")
        return purl_name, version or purl_version
    name, ecosystem = package.get("name"), package.get("ecosystem")
    if not isinstance(name, str) or not name:
        raise QueryError("'package.name' (with 'package.ecosystem') or 'package.purl' is required")
    if ecosystem != PYPI:
        raise QueryError(f"ecosystem {ecosystem!r} is not served: this mirror serves PyPI only")
    return name, version or None


def _parse_purl(purl: str) -> tuple[str, str | None]:
    if not purl.startswith("pkg:pypi/"):
        raise QueryError(f"purl {purl!r} is not served: this mirror serves pkg:pypi only")
    rest = purl[len("pkg:pypi/") :].split("?", 1)[0].split("#", 1)[0]
    name, _, version = rest.partition("@")
    if not name:
        raise QueryError(f"purl {purl!r} names no package")
    return unquote(name), unquote(version) or None


class Handler(BaseHTTPRequestHandler):
    server: MirrorServer
    protocol_version = "HTTP/1.1"  # keep-alive: pip-audit sends one request per package
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs: 40 ms each
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed per request)

    def do_POST(self) -> None:
        try:
            body = self._read_json()
            if self.path == "/v1/query":
                self._send(HTTPStatus.OK, self._query(body))
            elif self.path == "/v1/querybatch":
                self._send(HTTPStatus.OK, self._batch(body))
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no endpoint {self.path}")
        except QueryError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        if self.path.startswith(prefix):
            body = self.server.index.get(unquote(self.path[len(prefix) :]))
            if body is None:
                self._error(HTTPStatus.NOT_FOUND, "no such advisory")
            else:
                self._send_text(HTTPStatus.OK, body)
        elif self.path == "/health":
            self._send(HTTPStatus.OK, {"records": self.server.index.stats.records})
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no endpoint {self.path}")

    def _query(self, body: Any) -> str:
        name, version = parse_query(body)
        bodies = self.server.index.query(name, version)
        return '{"vulns":[' + ",".join(bodies) + "]}" if bodies else "{}"

    def _batch(self, body: Any) -> str:
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list):
            raise QueryError("'queries' must be a list")
        if len(queries) > MAX_BATCH:
            raise QueryError(f"at most {MAX_BATCH} queries per batch")
        results = []
        for i, query in enumerate(queries):
            try:
                name, version = parse_query(query)
            except QueryError as exc:
                raise QueryError(f"queries[{i}]: {exc}") from None
            records = [json.loads(b) for b in self.server.index.query(name, version)]
            vulns = [{"id": r["id"], "modified": r.get("modified", "")} for r in records]
            results.append({"vulns": vulns} if vulns else {})
        return json.dumps({"results": results})

    def _read_json(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise QueryError("a Content-Length header is required") from None
        if length < 0 or length > MAX_BODY:
            raise QueryError(f"request body must be 0..{MAX_BODY} bytes")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise QueryError(f"request body is not JSON: {exc}") from None

    def _error(self, status: HTTPStatus, message: str) -> None:
        # grpc-gateway's error shape, as osv.dev answers (code 3 = INVALID_ARGUMENT)
        code = 3 if status == HTTPStatus.BAD_REQUEST else 5
        self._send(status, {"code": code, "message": message})

    def _send(self, status: HTTPStatus, payload: Any) -> None:
        self._send_text(status, payload if isinstance(payload, str) else json.dumps(payload))

    def _send_text(self, status: HTTPStatus, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, index: AdvisoryIndex, host: str, port: int, *, verbose: bool = False):
        self.index = index
        self.verbose = verbose
        super().__init__((host, port), Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    @property
    def query_url(self) -> str:
        return self.base_url + "/v1/query"


@contextmanager
def running_mirror(
    index: AdvisoryIndex, host: str = "127.0.0.1", port: int = 0
) -> Iterator[MirrorServer]:
    """Serve `index` in a background thread for the `with` block (port 0: an ephemeral one)."""
    server = MirrorServer(index, host, port)
    # serve_forever polls for shutdown every poll_interval (0.5 s by default): the scan
    # would wait up to that long for its mirror to stop
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="advisory-mirror", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
