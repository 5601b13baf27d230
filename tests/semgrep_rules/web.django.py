# ruff: noqa
# Test target for policies/semgrep/web.yml (Django sources and sinks); see web.flask.py.
# Deliberately vulnerable code: never import this module.
import json
import logging
import os
import subprocess

from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import FileResponse, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template import Context, Template
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from shop.models import Order, User

log = logging.getLogger(__name__)


def search(request):
    q = request.GET.get("q", "")
    # ruleid: web-sql-injection
    User.objects.raw("SELECT * FROM auth_user WHERE username = '%s'" % q)
    # ruleid: web-sql-injection
    Order.objects.extra(where=["status = '" + request.POST["status"] + "'"])
    # ruleid: web-sql-injection
    Order.objects.annotate(x=RawSQL("SELECT " + q, []))
    with connection.cursor() as cursor:
        # ruleid: web-sql-injection
        cursor.execute("SELECT * FROM shop_order WHERE note LIKE '%" + q + "%'")
        # ok: web-sql-injection
        cursor.execute("SELECT * FROM shop_order WHERE note LIKE %s", ["%" + q + "%"])
    # ok: web-sql-injection
    User.objects.raw("SELECT * FROM auth_user WHERE username = %s", [q])
    return HttpResponse("ok")


def order(request, order_id):
    # ruleid: web-command-injection
    subprocess.call("print-label " + order_id, shell=True)
    # ok: web-command-injection
    subprocess.call(["print-label", order_id])
    if not order_id.isdigit():
        return HttpResponseBadRequest()
    # ok: web-command-injection
    os.system("print-label " + order_id)
    return HttpResponse("ok")


def download(request):
    name = request.COOKIES.get("last_report", "")
    # ruleid: web-path-traversal
    return FileResponse(open("/srv/reports/" + name, "rb"))


def download_checked(request):
    name = request.META.get("HTTP_X_REPORT", "")
    if name not in {"daily.csv", "weekly.csv"}:
        return HttpResponseBadRequest()
    # ok: web-path-traversal
    return FileResponse(open("/srv/reports/" + name, "rb"))


def next_page(request):
    target = request.GET.get("next", "/")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={"example.com"}):
        # ok: web-open-redirect
        return redirect(target)
    # ruleid: web-open-redirect
    return HttpResponseRedirect(request.GET["fallback"])


def profile(request):
    body = json.loads(request.body)
    bio = body["bio"]
    # ruleid: web-xss-response
    html = mark_safe("<p>" + bio + "</p>")
    # ok: web-xss-response
    safe = mark_safe("<p>" + escape(bio) + "</p>")
    # ok: web-xss-response
    render(request, "profile.html", {"bio": bio})
    # ok: web-xss-response
    HttpResponse(bio, content_type="text/plain")
    # ruleid: web-template-injection
    Template("<p>" + bio + "</p>").render(Context({}))
    # ok: web-template-injection
    page = Template("<p>{{ bio }}</p>").render(Context({"bio": bio}))
    # ok: web-xss-response
    HttpResponse(page)
    # ruleid: web-xss-response
    return HttpResponse("<h1>%s</h1>" % bio)


def upload(request):
    f = request.FILES["doc"]
    # ruleid: web-log-injection
    log.info("upload " + f.name)
    # ok: web-log-injection
    log.info("upload %r", f.name)
    response = HttpResponse("ok")
    # ruleid: web-header-injection
    response["Content-Disposition"] = "attachment; filename=" + f.name
    # ok: web-header-injection
    response["Content-Disposition"] = "attachment; filename=%d.pdf" % int(request.GET["id"])
    return response
