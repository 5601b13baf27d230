"""A deliberately unsafe little payments service: the shipped example for the gate."""

import hashlib
import pickle
import subprocess

import yaml


def refund(order_id: str) -> int:
    # Shell injection: order_id comes from the request.
    return subprocess.call("refund-tool --order " + order_id, shell=True)


def load_session(blob: bytes) -> object:
    return pickle.loads(blob)


def load_config(text: str) -> object:
    return yaml.load(text)


def card_token(pan: str) -> str:
    return hashlib.md5(pan.encode()).hexdigest()


def health() -> int:
    return subprocess.call(["true"])  # nosec B603
