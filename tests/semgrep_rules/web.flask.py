# ruff: noqa
# Test target for policies/semgrep/web.yml (Flask sources), run by `semgrep --test` and through
# the gate's scanner (tests/test_semgrep_rules.py). "ruleid" marks the next line as a finding of
# that rule, "ok" as a line the rule must not report. Every rule has: a direct flow, a flow
# through a helper in this file, a sanitized value and a value made constant by a condition.
# Deliberately vulnerable code: never import this module.
import logging
import os
import pickle
import shlex
import sqlite3
import subprocess
from urllib.parse import urlparse

import jinja2
import ldap
import requests
import yaml
from flask import Flask, abort, jsonify, make_response, redirect, render_template, request
from flask import render_template_string, send_file, send_from_directory, url_for
from ldap.filter import escape_filter_chars
from lxml import etree
from markupsafe import Markup, escape
from werkzeug.utils import secure_filename

app = Flask(__name__)
db = sqlite3.connect(":memory:")
log = logging.getLogger(__name__)
ALLOWED = {"name", "created"}


def by_name(name):
    return "SELECT * FROM users WHERE name = '" + name + "'"


@app.route("/sql")
def sql():
    name = request.args.get("name", "")
    # ruleid: web-sql-injection
    db.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ruleid: web-sql-injection
    db.execute(by_name(name))
    # ok: web-sql-injection
    db.execute("SELECT * FROM users WHERE name = ?", (name,))
    # ok: web-sql-injection
    db.execute("SELECT * FROM users LIMIT %d" % int(request.args["n"]))
    column = "created" if name == "date" else "name"
    # ok: web-sql-injection
    db.execute(f"SELECT * FROM users ORDER BY {column}")
    if name not in ALLOWED:
        abort(400)
    # ok: web-sql-injection
    db.execute(f"SELECT * FROM users ORDER BY {name}")
    return "ok"


def ping_cmd(host):
    return "ping -c 1 " + host


@app.route("/cmd/<host>")
def cmd(host):
    # ruleid: web-command-injection
    os.system(ping_cmd(host))
    # ruleid: web-command-injection
    subprocess.run("nslookup " + request.form["q"], shell=True)
    # ok: web-command-injection
    subprocess.run(["nslookup", host])
    # ok: web-command-injection
    subprocess.run("nslookup " + shlex.quote(host), shell=True)
    flag = "-l" if host == "long" else "-1"
    # ok: web-command-injection
    os.system("ls " + flag)
    return "ok"


def apply_filter(expr, rows):
    return [r for r in rows if eval(expr, {"r": r})]


@app.route("/code", methods=["POST"])
def code():
    expr = request.get_json()["expr"]
    # ruleid: web-code-injection
    apply_filter(expr, [])
    # ok: web-code-injection
    apply_filter("r > 1", [])
    # ruleid: web-code-injection
    eval(expr)
    # ruleid: web-code-injection
    exec("result = " + expr)
    # ok: web-code-injection
    eval("%d * 2" % int(expr))
    which = "1 + 1" if expr == "two" else "2 + 2"
    # ok: web-code-injection
    eval(which)
    return "ok"


def restore(blob):
    return pickle.loads(blob)


@app.route("/load", methods=["POST"])
def load():
    data = request.get_data()
    # ruleid: web-unsafe-deserialization
    pickle.loads(data)
    # ruleid: web-unsafe-deserialization
    yaml.load(request.form["doc"], Loader=yaml.Loader)
    # ok: web-unsafe-deserialization
    yaml.load(request.form["doc"], Loader=yaml.SafeLoader)
    # ok: web-unsafe-deserialization
    yaml.safe_load(data)
    kind = b"\x80\x04N." if data == b"none" else b"\x80\x04K\x01."
    # ok: web-unsafe-deserialization
    pickle.loads(kind)
    # ruleid: web-unsafe-deserialization
    restore(data)
    # ok: web-unsafe-deserialization
    restore(kind)
    return "ok"


def report_path(name):
    return os.path.join("/srv/reports", name)


@app.route("/file")
def file():
    name = request.args["name"]
    # ruleid: web-path-traversal
    open(report_path(name))
    # ruleid: web-path-traversal
    send_file("/srv/files/" + name)
    # ok: web-path-traversal
    open(os.path.join("/srv/files", secure_filename(name)))
    # ok: web-path-traversal
    open(os.path.join("/srv/files", os.path.basename(name)))
    # ok: web-path-traversal
    send_from_directory("/srv/files", name)
    full = os.path.realpath(os.path.join("/srv/files", name))
    if not full.startswith("/srv/files/"):
        abort(403)
    # ok: web-path-traversal
    open(full)
    theme = "dark.css" if name == "dark" else "light.css"
    # ok: web-path-traversal
    open("/srv/static/" + theme)
    return "ok"


def fetch_preview(url):
    return requests.get(url, timeout=3).text[:200]


@app.route("/fetch")
def fetch():
    url = request.args["url"]
    # ruleid: web-ssrf
    fetch_preview(url)
    # ok: web-ssrf
    fetch_preview("https://api.example.com/status")
    # ruleid: web-ssrf
    requests.get(url, timeout=5)
    # ruleid: web-ssrf
    requests.post(f"http://{request.headers['X-Host']}/hook", timeout=5)
    host = urlparse(url).hostname
    if host not in {"api.example.com"}:
        abort(400)
    # ok: web-ssrf
    requests.get(url, timeout=5)
    hook = request.args["hook"]
    if not hook.startswith("https://hooks.example.com/"):
        abort(400)
    # ok: web-ssrf
    requests.post(hook, timeout=5)
    other = request.args["other"]
    if not other.startswith("http"):
        abort(400)
    # ruleid: web-ssrf
    requests.post(other, timeout=5)
    base = "https://eu.example.com" if request.args.get("eu") else "https://us.example.com"
    # ok: web-ssrf
    requests.get(base + "/status", timeout=5)
    return "ok"


def after_login(target):
    return target or "/"


@app.route("/login")
def login():
    nxt = request.args.get("next", "/")
    if request.args.get("helper"):
        # ruleid: web-open-redirect
        return redirect(after_login(nxt))
    if nxt in {"/home", "/settings"}:
        # ok: web-open-redirect
        return redirect(nxt)
    landing = "/admin" if nxt == "admin" else "/home"
    if request.args.get("landing"):
        # ok: web-open-redirect
        return redirect(landing)
    # ok: web-open-redirect
    return redirect(url_for("home"))


@app.route("/go")
def go():
    # ruleid: web-open-redirect
    return redirect(request.args["to"])


def greeting(name):
    return "<h1>Hello " + name + "</h1>"


@app.route("/hello")
def hello():
    name = request.cookies.get("name", "")
    # ruleid: web-template-injection
    render_template_string(greeting(name))
    # ruleid: web-template-injection
    jinja2.Template(request.values["tpl"]).render()
    # ok: web-template-injection
    render_template_string("<h1>Hello {{ n }}</h1>", n=name)
    tpl = "<b>{{ n }}</b>" if name == "b" else "<i>{{ n }}</i>"
    # ok: web-template-injection
    jinja2.Template(tpl, autoescape=True).render(n=name)
    return "ok"


def card(title):
    return "<div>%s</div>" % title


@app.route("/card")
def show_card():
    title = request.args.get("t", "")
    if title == "markup":
        # ruleid: web-xss-response
        return render_template("card.html", body=Markup("<b>" + title + "</b>"))
    if title == "escaped":
        # ok: web-xss-response
        return "<div>%s</div>" % escape(title)
    if title == "json":
        # ok: web-xss-response
        return jsonify(title=title)
    colour = "red" if title == "r" else "blue"
    # ok: web-xss-response
    make_response("<p style='color:%s'>hi</p>" % colour)
    # ruleid: web-xss-response
    return card(title)


@app.route("/xml", methods=["POST"])
def xml():
    body = request.get_data()
    parser = etree.XMLParser(resolve_entities=True, no_network=False)
    # ruleid: web-xxe-parser
    etree.fromstring(body, parser)
    safe = etree.XMLParser(resolve_entities=False, no_network=True)
    # ok: web-xxe-parser
    etree.fromstring(body, safe)
    # ok: web-xxe-parser
    etree.parse("/etc/app/catalog.xml", parser)
    sample = b"<a/>" if body == b"empty" else b"<b/>"
    # ok: web-xxe-parser
    etree.fromstring(sample, parser)
    return "ok"


def uid_filter(uid):
    return "(uid=%s)" % uid


@app.route("/ldap")
def directory():
    uid = request.args["uid"]
    conn = ldap.initialize("ldap://ldap.internal")
    # ruleid: web-ldap-injection
    conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, uid_filter(uid))
    # ok: web-ldap-injection
    conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, "(uid=" + escape_filter_chars(uid) + ")")
    group = "(cn=admins)" if uid == "root" else "(cn=users)"
    # ok: web-ldap-injection
    conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, group)
    return "ok"


@app.route("/xpath")
def xpath():
    tree = etree.parse("/srv/users.xml")
    name = request.args["name"]
    # ruleid: web-xpath-injection
    tree.xpath("//user[@name='" + name + "']")
    # ok: web-xpath-injection
    tree.xpath("//user[@name=$name]", name=name)
    # ok: web-xpath-injection
    tree.xpath("//user[%d]" % int(name))
    role = "admin" if name == "root" else "user"
    # ok: web-xpath-injection
    tree.xpath("//user[@role='" + role + "']")
    return "ok"


def audit_line(who):
    return "export by %s" % who


@app.route("/headers")
def headers():
    who = request.headers.get("X-User", "")
    resp = make_response("ok")
    # ruleid: web-header-injection
    resp.headers["X-User"] = who
    lang = "de" if who == "hans" else "en"
    # ok: web-header-injection
    resp.headers["Content-Language"] = lang
    # ruleid: web-log-injection
    log.info(audit_line(who))
    # ruleid: web-log-injection
    log.warning(f"login failed for {who}")
    # ok: web-log-injection
    log.warning("login failed for %r", who)
    # ok: web-log-injection
    log.info("export by " + who.replace("\r", "").replace("\n", ""))
    return resp


@app.get("/orders/<order_id>")
def order(order_id):
    # ruleid: web-sql-injection
    db.execute("SELECT * FROM orders WHERE id = '" + order_id + "'")
    return "ok"
