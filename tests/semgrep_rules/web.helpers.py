# ruff: noqa
# Test target for policies/semgrep/web.yml: flows the taint engine does not follow by itself
# (into a method or function of this file that reaches the sink; through a list built with
# append), values that a constant table lookup or a sanitizing helper makes safe, templates
# that mark a value safe, and parsers made in the call or kept on a class.
# Deliberately vulnerable code: never import this module.
import html
import logging
import os
import pickle
import shlex
import sqlite3
import subprocess

import aiohttp_jinja2
import jinja2
import requests
from aiohttp import web
from flask import Flask, make_response, render_template_string, request
from lxml import etree

app = Flask(__name__)
COLUMNS = {"new": "created DESC", "az": "title"}
ACTIONS = {"restart": "systemctl restart app"}
pages = web.Application()
aiohttp_jinja2.setup(pages, loader=jinja2.FileSystemLoader("templates"), autoescape=False)
env = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"), autoescape=True)


class Users:
    def __init__(self):
        self.db = sqlite3.connect(":memory:")

    def by_name(self, name):
        return self.db.execute("SELECT * FROM users WHERE name = '%s'" % name)

    def by_name_bound(self, name):
        return self.db.execute("SELECT * FROM users WHERE name = ?", (name,))


class Tools(object):
    def ping(self, host):
        return subprocess.call("ping -c 1 " + host, shell=True)

    def read(self, name):
        with open(os.path.join("/srv/files", name)) as fh:
            return fh.read()

    def restore(self, blob):
        return pickle.loads(blob)


class Feed:
    parser = etree.XMLParser(resolve_entities=True)
    safe_parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def read(self, data):
        return etree.fromstring(data, self.parser)

    def read_safe(self, data):
        return etree.fromstring(data, self.safe_parser)


def quoted(term):
    return "grep -r " + shlex.quote(term) + " /var/log/app"


def cell(text):
    return "<td>" + html.escape(text) + "</td>"


def one_line(text):
    return text.replace("\r", "").replace("\n", "")


@app.route("/helpers")
def helpers():
    value = request.args.get("q", "")
    # ruleid: web-sql-injection
    Users().by_name(value)
    # ok: web-sql-injection
    Users().by_name_bound(value)
    repo = Users()
    # ruleid: web-sql-injection
    repo.by_name(value)
    # ruleid: web-command-injection
    Tools().ping(value)
    # ruleid: web-path-traversal
    Tools().read(value)
    # ruleid: web-unsafe-deserialization
    Tools().restore(value)
    # ruleid: web-xxe-parser
    Feed().read(value)
    # ok: web-xxe-parser
    Feed().read_safe(value)
    # ruleid: web-xxe-parser
    etree.fromstring(value, etree.XMLParser(load_dtd=True))
    # ok: web-xxe-parser
    etree.fromstring(value, etree.XMLParser(load_dtd=False))
    # ok: web-command-injection
    subprocess.run(quoted(value), shell=True)
    # ruleid: web-command-injection
    subprocess.run("grep -r " + value, shell=True)
    # ok: web-log-injection
    logging.info("search: " + one_line(value))
    # ruleid: web-log-injection
    logging.info("search: " + value)
    return "ok"


@app.route("/tables")
def tables():
    value = request.args.get("sort", "")
    db = sqlite3.connect(":memory:")
    # ok: web-sql-injection
    db.execute("SELECT * FROM posts ORDER BY " + COLUMNS.get(value, "title"))
    # ok: web-command-injection
    os.system(ACTIONS[value])
    parts = ["SELECT * FROM tags WHERE label = '"]
    parts.append(value)
    parts.append("'")
    # ruleid: web-sql-injection
    db.execute("".join(parts))
    return "ok"


@app.route("/cells")
def cells():
    value = request.args.get("q", "")
    # ok: web-xss-response
    make_response("<tr>" + cell(value) + "</tr>")
    # ruleid: web-xss-response
    make_response("<tr><td>" + value + "</td></tr>")
    # ok: web-xss-response
    make_response(env.get_template("search.html").render(q=value))
    # ruleid: web-xss-response
    render_template_string("<div>{{ bio|safe }}</div>", bio=value)
    # ok: web-xss-response
    render_template_string("<div>{{ bio }}</div>", bio=value)
    return "ok"


async def search(request):
    value = request.query.get("q", "")
    # ruleid: web-xss-response
    return aiohttp_jinja2.render_template("search.html", request, {"q": value})
