# ruff: noqa
# Test target for policies/semgrep/python.yml, run by `semgrep --test` (tests/test_semgrep_rules.py).
# Each "ruleid" annotation marks the next line as a finding of that rule, each "ok" one as a
# line the rule must not report.
# Deliberately vulnerable code: never import this module.
import io
import os
import ssl
import sqlite3
import tempfile

import dill
import httpx
import jinja2
import jsonpickle
import jwt
import paramiko
import requests
import yaml
from flask import Flask, render_template, render_template_string, request, send_file
from jinja2 import Environment, Template, select_autoescape
from werkzeug.utils import secure_filename

app = Flask(__name__)
db = sqlite3.connect(":memory:")
cur = db.cursor()


@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    return render_template_string("<h1>Hello " + name + "</h1>")


@app.route("/tpl")
def tpl():
    return Template(request.form["template"]).render()


@app.route("/hello-safe")
def hello_safe():
    name = request.args.get("name", "")
    return render_template_string("<h1>Hello {{ name }}</h1>", name=name)


@app.route("/hello-file")
def hello_file():
    return render_template("hello.html", name=request.args.get("name"))


def user_by_name(name, uid, table):
    # ruleid: python-sql-string-built
    cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ruleid: python-sql-string-built
    cur.execute("SELECT * FROM users WHERE id = {}".format(uid))
    # ruleid: python-sql-string-built
    cur.execute("SELECT * FROM users WHERE id = %s" % uid)
    # ruleid: python-sql-string-built
    db.executescript("DELETE FROM " + table)
    # ok: python-sql-string-built
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    # ok: python-sql-string-built
    cur.execute("SELECT * FROM users")
    query = f"SELECT * FROM {table} WHERE id = {uid}"
    # ruleid: python-sql-string-built-via-variable
    cur.execute(query)
    fixed = "SELECT * FROM users WHERE id = ?"
    # ok: python-sql-string-built-via-variable
    cur.execute(fixed, (uid,))


@app.route("/fetch")
def fetch():
    url = request.args["url"]
    data = requests.get(url, timeout=5).text
    requests.post(request.form.get("callback"), json={"ok": True}, timeout=5)
    requests.get("https://api.example.com/status", params={"q": url}, timeout=5)
    httpx.get("https://api.example.com/items", timeout=5)
    return data


@app.route("/download")
def download():
    name = request.args.get("file")
    with open(os.path.join("/srv/files", name)) as handle:
        body = handle.read()
    send_file(request.args["path"])
    send_file(os.path.join("/srv/files", secure_filename(name)))
    with open("/srv/files/index.txt") as handle:
        body += handle.read()
    return body


def deserialise(blob, text):
    # ruleid: python-yaml-unsafe-load
    yaml.load(text)
    # ruleid: python-yaml-unsafe-load
    yaml.load(text, Loader=yaml.Loader)
    # ruleid: python-yaml-unsafe-load
    yaml.unsafe_load(text)
    # ok: python-yaml-unsafe-load
    yaml.load(text, Loader=yaml.SafeLoader)
    # ok: python-yaml-unsafe-load
    yaml.safe_load(text)
    # ruleid: python-jsonpickle-decode
    jsonpickle.decode(text)
    # ok: python-jsonpickle-decode
    jsonpickle.encode({"a": 1})
    # ruleid: python-dill-load
    dill.loads(blob)
    # ruleid: python-dill-load
    dill.load(io.BytesIO(blob))
    # ok: python-dill-load
    dill.dumps({"a": 1})


def connect(host):
    client = paramiko.SSHClient()
    # ruleid: python-paramiko-auto-add-policy
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    # ok: python-paramiko-auto-add-policy
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_system_host_keys()
    return client


# ruleid: python-django-debug-enabled
DEBUG = True


class Settings:
    # ok: python-django-debug-enabled
    DEBUG = True


def configure():
    # ok: python-django-debug-enabled
    DEBUG = True
    return DEBUG


def templates(loader):
    # ruleid: python-jinja2-autoescape-off
    jinja2.Environment(loader=loader, autoescape=False)
    # ok: python-jinja2-autoescape-off
    Environment(loader=loader, autoescape=select_autoescape())
    # ok: python-jinja2-autoescape-off
    jinja2.Environment(loader=loader, autoescape=True)


def tokens(token, key):
    # ruleid: python-jwt-decode-unverified
    jwt.decode(token, options={"verify_signature": False})
    # ruleid: python-jwt-decode-unverified
    jwt.decode(token, key, algorithms=["HS256", "none"])
    # ok: python-jwt-decode-unverified
    jwt.decode(token, key, algorithms=["HS256"])


def tls(sock):
    # ruleid: python-tls-verification-disabled
    ctx = ssl._create_unverified_context()
    # ruleid: python-tls-verification-disabled
    ctx.check_hostname = False
    # ruleid: python-tls-verification-disabled
    ctx.verify_mode = ssl.CERT_NONE
    # ruleid: python-tls-verification-disabled
    httpx.get("https://internal.example", verify=False)
    # ok: python-tls-verification-disabled
    ctx.verify_mode = ssl.CERT_REQUIRED
    # ok: python-tls-verification-disabled
    good = ssl.create_default_context()
    # ruleid: python-tls-weak-protocol
    old = ssl.SSLContext(ssl.PROTOCOL_TLSv1)
    # ruleid: python-tls-weak-protocol
    good.minimum_version = ssl.TLSVersion.TLSv1
    # ok: python-tls-weak-protocol
    good.minimum_version = ssl.TLSVersion.TLSv1_2
    return old, good.wrap_socket(sock)


def scratch():
    # ruleid: python-tempfile-mktemp
    name = tempfile.mktemp(suffix=".txt")
    # ok: python-tempfile-mktemp
    handle = tempfile.NamedTemporaryFile(suffix=".txt")
    return name, handle


if __name__ == "__main__":
    # ruleid: python-flask-debug-enabled
    app.run(host="127.0.0.1", debug=True)
    # ok: python-flask-debug-enabled
    app.run(host="127.0.0.1", debug=False)


def notebook_cells():
    # ruleid: python-notebook-shell-command
    __compliance_notebook_shell__("!pip install requests")
    # ok: python-notebook-shell-command
    notebook_shell = "!pip install requests"
    return notebook_shell
