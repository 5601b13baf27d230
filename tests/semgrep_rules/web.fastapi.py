# ruff: noqa
# Test target for policies/semgrep/web.yml (FastAPI/Starlette sources and sinks); see
# web.flask.py. Deliberately vulnerable code: never import this module.
import os
import pickle
import sqlite3
import uuid

import httpx
import yaml
from fastapi import Cookie, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

app = FastAPI()
db = sqlite3.connect(":memory:")


def get_db():
    return Session()


@app.get("/items/{item_id}")
async def item(item_id: str, limit: int = 10, session: Session = Depends(get_db)):
    # ruleid: web-sql-injection
    session.execute(text("SELECT * FROM items WHERE id = '" + item_id + "'"))
    # ok: web-sql-injection
    session.execute(text("SELECT * FROM items LIMIT %d" % limit))
    # ok: web-sql-injection
    session.execute(text("SELECT * FROM items WHERE id = :id"), {"id": item_id})
    return {"ok": True}


@app.get("/typed/{item_id}")
async def typed(item_id: uuid.UUID, verbose: bool = False):
    # ok: web-sql-injection
    db.execute(f"SELECT * FROM items WHERE id = '{item_id}'")
    return {"ok": True}


@app.post("/prefs")
async def prefs(session_blob: str = Cookie("")):
    # ruleid: web-unsafe-deserialization
    pickle.loads(bytes.fromhex(session_blob))
    # ok: web-unsafe-deserialization
    yaml.safe_load(session_blob)
    return {"ok": True}


@app.post("/config")
async def config(request: Request):
    raw = await request.body()
    # ruleid: web-unsafe-deserialization
    yaml.load(raw)
    # ruleid: web-code-injection
    eval((await request.json())["expr"])
    return {"ok": True}


@app.get("/proxy")
async def proxy(request: Request):
    url = request.query_params["url"]
    async with httpx.AsyncClient() as client:
        # ruleid: web-ssrf
        r = await client.get(url)
        # ok: web-ssrf
        r = await client.get("https://api.example.com/status")
    return {"status": r.status_code}


@app.get("/hook")
async def hook(x_callback: str = Header("")):
    # ruleid: web-ssrf
    httpx.post(x_callback, json={})
    return {"ok": True}


@app.get("/files/{name}")
async def files(name: str):
    # ruleid: web-path-traversal
    return FileResponse(os.path.join("/srv/files", name))


@app.get("/safe-files/{name}")
async def safe_files(name: str):
    # ok: web-path-traversal
    return FileResponse(os.path.join("/srv/files", os.path.basename(name)))


@app.get("/greet")
async def greet(name: str = ""):
    # ruleid: web-xss-response
    return HTMLResponse(f"<p>Hello {name}</p>")


@app.get("/greet-json")
async def greet_json(name: str = ""):
    # ok: web-xss-response
    return {"greeting": f"Hello {name}"}


@app.get("/out")
async def out(next: str = "/"):
    # ruleid: web-open-redirect
    return RedirectResponse(next)


@app.get("/out-checked")
async def out_checked(next: str = "/"):
    if next not in {"/", "/home"}:
        raise HTTPException(status_code=400)
    # ok: web-open-redirect
    return RedirectResponse(next)
