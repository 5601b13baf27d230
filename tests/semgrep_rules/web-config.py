# ruff: noqa
# Test target for policies/semgrep/web-config.yml (framework configuration hints); see
# docs/semgrep.md. Made-up keys. Deliberately insecure code: never import this module.
import hashlib
import os
import random
import secrets

import aiohttp_debugtoolbar
import aiohttp_jinja2
import jinja2
import jwt
from aiohttp import web
from django.views.decorators.csrf import csrf_exempt
from fastapi import FastAPI
from flask import Flask, make_response
from flask_wtf.csrf import CSRFProtect
from starlette.applications import Starlette
from werkzeug.security import generate_password_hash

# ruleid: web-config-debug-enabled
api = FastAPI(debug=True)
# ok: web-config-debug-enabled
api2 = FastAPI(debug=os.environ.get("DEBUG") == "1")
# ruleid: web-config-debug-enabled
star = Starlette(debug=True)
aio = web.Application()
# ruleid: web-config-debug-enabled
aiohttp_debugtoolbar.setup(aio)

app = Flask(__name__)
csrf = CSRFProtect(app)
# ruleid: web-config-hardcoded-secret-key
app.secret_key = "dev-3f9a1c2b7e"
# ok: web-config-hardcoded-secret-key
app.secret_key = os.environ["SECRET_KEY"]
# ruleid: web-config-hardcoded-secret-key
app.config["SECRET_KEY"] = "s3cr3t-key-123"
# ruleid: web-config-hardcoded-secret-key
SECRET_KEY = "django-insecure-abcdef123456"
# ok: web-config-hardcoded-secret-key
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
# ruleid: web-config-csrf-disabled
WTF_CSRF_ENABLED = False
# ok: web-config-csrf-disabled
WTF_CSRF_ENABLED = True
# ruleid: web-config-insecure-cookie
SESSION_COOKIE_SECURE = False
# ok: web-config-insecure-cookie
SESSION_COOKIE_SECURE = True


def token_for(user):
    # ruleid: web-config-hardcoded-secret-key
    return jwt.encode({"sub": user}, "jwt-signing-key", algorithm="HS256")


def token_for_env(user):
    # ok: web-config-hardcoded-secret-key
    return jwt.encode({"sub": user}, os.environ["JWT_KEY"], algorithm="HS256")


# ruleid: web-config-csrf-disabled
@csrf_exempt
def webhook(request):
    return None


# ruleid: web-config-csrf-disabled
@csrf.exempt
def flask_webhook():
    return "ok"


# ok: web-config-csrf-disabled
def normal_view(request):
    return None


def login_response(sid, jar, cookie):
    resp = make_response("ok")
    # ruleid: web-config-insecure-cookie
    resp.set_cookie("sid", sid)
    # ruleid: web-config-insecure-cookie
    resp.set_cookie("sid", sid, secure=True)
    # ok: web-config-insecure-cookie
    resp.set_cookie("sid", sid, secure=True, httponly=True, samesite="Lax")
    # ok: web-config-insecure-cookie
    jar.set_cookie(cookie)
    return resp


def store_password(user, password):
    # ruleid: web-config-weak-password-hash
    user.hash = hashlib.md5(password.encode()).hexdigest()
    # ruleid: web-config-weak-password-hash
    user.hash = hashlib.sha256(user.password.encode()).hexdigest()
    # ruleid: web-config-weak-password-hash
    user.hash = hashlib.new("sha1", password.encode()).hexdigest()
    # ok: web-config-weak-password-hash
    user.hash = generate_password_hash(password)
    # ok: web-config-weak-password-hash
    user.etag = hashlib.sha256(user.avatar).hexdigest()
    # ok: web-config-weak-password-hash
    user.hash = hashlib.pbkdf2_hmac("sha256", password.encode(), user.salt, 600_000)


def new_tokens(session):
    # ruleid: web-config-insecure-random-token
    reset_token = "".join(random.choice("abcdef0123456789") for _ in range(32))
    # ruleid: web-config-insecure-random-token
    session["otp"] = random.randint(100000, 999999)
    # ok: web-config-insecure-random-token
    reset_token = secrets.token_urlsafe(32)
    # ok: web-config-insecure-random-token
    delay = random.uniform(0.1, 0.5)
    return reset_token, delay


def template_setup(aio_app, flask_app, loader):
    # ruleid: web-config-template-autoescape-off
    aiohttp_jinja2.setup(aio_app, loader=loader, autoescape=False)
    # ok: web-config-template-autoescape-off
    aiohttp_jinja2.setup(aio_app, loader=loader)
    # ok: web-config-template-autoescape-off
    aiohttp_jinja2.setup(aio_app, loader=loader, autoescape=True)
    # ruleid: web-config-template-autoescape-off
    flask_app.jinja_env.autoescape = False
    # ok: web-config-template-autoescape-off
    flask_app.jinja_env.autoescape = jinja2.select_autoescape()
    # ruleid: web-config-template-autoescape-off
    flask_app.jinja_options["autoescape"] = False
    # ruleid: web-config-template-autoescape-off
    TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "OPTIONS": {"autoescape": False}}]
    # ok: web-config-template-autoescape-off
    TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "OPTIONS": {"autoescape": True}}]
    return TEMPLATES


def jinja_environments(loader):
    # ruleid: web-config-jinja2-autoescape-default
    pages = jinja2.Environment(loader=loader)
    # ruleid: web-config-jinja2-autoescape-default
    sandboxed = jinja2.sandbox.SandboxedEnvironment(loader=loader)
    # ok: web-config-jinja2-autoescape-default
    safe = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape())
    # ok: web-config-jinja2-autoescape-default
    text = jinja2.Environment(loader=loader, autoescape=False)
    # ok: web-config-jinja2-autoescape-default
    chosen = jinja2.Environment(**OPTIONS)
    return pages, sandboxed, safe, text, chosen
