# ruff: noqa
# Test target for policies/semgrep/web.yml (aiohttp sources and sinks); see web.flask.py.
# Deliberately vulnerable code: never import this module.
import asyncio
import logging
import marshal
import xml.sax
from xml.dom import pulldom

import aiohttp
import jinja2
from aiohttp import web
from ldap3 import Connection, Server
from ldap3.utils.conv import escape_filter_chars
from PIL import Image, ImageMath

log = logging.getLogger(__name__)
env = jinja2.Environment(autoescape=True)


async def run(request):
    host = request.match_info["host"]
    # ruleid: web-command-injection
    await asyncio.create_subprocess_shell("ping -c 1 " + host)
    # ok: web-command-injection
    await asyncio.create_subprocess_exec("ping", "-c", "1", host)
    return web.Response(text="ok")


async def calc(request):
    form = await request.post()
    # ruleid: web-code-injection
    ImageMath.eval(form["expr"], a=Image.new("L", (1, 1)))
    # ok: web-code-injection
    ImageMath.eval("a + 1", a=Image.new("L", (1, 1)))
    return web.Response(text="ok")


async def restore(request):
    blob = await request.read()
    # ruleid: web-unsafe-deserialization
    marshal.loads(blob)
    return web.Response(text="ok")


async def fetch(request):
    url = request.query.get("url", "")
    async with aiohttp.ClientSession() as session:
        # ruleid: web-ssrf
        async with session.get(url) as resp:
            body = await resp.text()
    return web.Response(text="ok")


async def page(request):
    title = request.query.get("title", "")
    # ruleid: web-template-injection
    env.from_string("<h1>" + title + "</h1>").render()
    # ok: web-template-injection
    env.from_string("<h1>{{ t }}</h1>").render(t=title)
    # ok: web-xss-response
    web.Response(text="<h1>" + title + "</h1>")
    # ruleid: web-xss-response
    return web.Response(text="<h1>" + title + "</h1>", content_type="text/html")


async def go(request):
    # ruleid: web-open-redirect
    raise web.HTTPFound(request.query["to"])


async def feed(request):
    doc = await request.text()
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, True)
    # ruleid: web-xxe-parser
    events = pulldom.parseString(doc, parser)
    plain = xml.sax.make_parser()
    # ok: web-xxe-parser
    plain.parse(doc)
    return web.Response(text="ok")


async def people(request):
    mail = request.query.get("mail", "")
    conn = Connection(Server("ldap://ldap.internal"), auto_bind=True)
    # ruleid: web-ldap-injection
    conn.search("dc=example,dc=com", "(mail=" + mail + ")")
    # ok: web-ldap-injection
    conn.search("dc=example,dc=com", "(mail=" + escape_filter_chars(mail) + ")")
    return web.Response(text="ok")


async def trace(request):
    tid = request.headers.get("X-Trace", "")
    resp = web.Response(text="ok")
    # ruleid: web-header-injection
    resp.headers["X-Trace"] = tid
    if not tid.isalnum():
        raise web.HTTPBadRequest()
    # ok: web-header-injection
    resp.headers["X-Trace-Checked"] = tid
    # ruleid: web-log-injection
    logging.error("trace %s" % request.cookies.get("sid", ""))
    return resp
