"""A deliberately unsafe little payments service: the shipped example for the gate.

Never run it. Each handler passes request data to a dangerous call; the gate's taint rules
follow it there and block. `health` shows a reviewed exception (`# nosec` with its reason).
"""

import hashlib
import pickle
import subprocess

import yaml
from flask import Flask, request

app = Flask(__name__)


@app.route("/refund", methods=["POST"])
def refund() -> str:
    # Shell injection: the order id goes into a shell command as typed.
    order_id = request.form["order"]
    subprocess.call("refund-tool --order " + order_id, shell=True)
    return "refund queued"


@app.route("/session", methods=["POST"])
def load_session() -> str:
    # Unsafe deserialization: pickle runs code from the request body.
    pickle.loads(request.get_data())
    return "session restored"


@app.route("/config", methods=["POST"])
def load_config() -> str:
    yaml.load(request.get_data(), Loader=yaml.Loader)
    return "config loaded"


def card_token(pan: str) -> str:
    return hashlib.md5(pan.encode()).hexdigest()


@app.route("/health")
def health() -> str:
    subprocess.call(["true"])  # nosec B603 -- fixed argv, no input
    return "ok"
