# ruff: noqa
# Test target for policies/semgrep/web-config.yml: Jinja2 outside a web app, where only an
# environment that loads an HTML template counts as "for HTML".
import jinja2
from jinja2 import Environment, FileSystemLoader


def render_config(values):
    # ok: web-config-jinja2-autoescape-default
    env = jinja2.Environment(loader=FileSystemLoader("conf"))
    return env.get_template("nginx.conf.j2").render(**values)


def render_report(rows):
    # ruleid: web-config-jinja2-autoescape-default
    env = Environment(loader=FileSystemLoader("reports"))
    return env.get_template("report.html").render(rows=rows)


def render_mail(user):
    # ruleid: web-config-jinja2-autoescape-default
    return jinja2.Environment(loader=FileSystemLoader("mail")).get_template("welcome.html.j2").render(user=user)


def render_text(user):
    # ok: web-config-jinja2-autoescape-default
    return jinja2.Environment().from_string("Hello {{ user }}").render(user=user)
