"""Helpers for the web console's end-to-end tests (test_console.py) and screenshots (docs/screenshots/take.py):
launching Debian's Chromium, signing a browser context in, and a plain HTTP client of a console session."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import requests

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COOKIE = "ossbox_console"
CSRF_HEADER = "X-CSRF-Token"


def launch_chromium(playwright):
    """Debian's Chromium, headless. Missing, it is an error (never a skip): the console is tested or it is not."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"the console tests drive Debian's Chromium, which is not at {CHROMIUM}: "
                           "apt-get install chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True)


def console_url(endpoint: str) -> str:
    return endpoint + "/-/console/"


def sign_in_context(context, endpoint: str, access_key_id: str, secret: str) -> None:
    """Signs a browser context in through the session endpoint (the context keeps the cookie)."""
    answer = context.request.post(console_url(endpoint) + "session",
                                  data={"accessKeyId": access_key_id, "accessKeySecret": secret})
    assert answer.ok, answer.text()


@dataclass
class ConsoleClient:
    """A console session driven over plain HTTP: its cookie's token and its CSRF token."""

    endpoint: str
    token: str
    csrf: str

    @classmethod
    def sign_in(cls, endpoint: str, access_key_id: str, secret: str) -> ConsoleClient:
        answer = requests.post(console_url(endpoint) + "session",
                               json={"accessKeyId": access_key_id, "accessKeySecret": secret}, timeout=30)
        assert answer.status_code == 200, answer.text
        return cls(endpoint, answer.cookies[COOKIE], answer.json()["csrfToken"])

    def request(self, method: str, path: str, *, data: bytes | str | None = None, headers: dict | None = None,
                with_csrf: bool = True, json: dict | None = None) -> requests.Response:
        """`path` is under /-/console/ (`api/<bucket>/<key>`, `session`, `share`)."""
        sent = {"Cookie": f"{COOKIE}={self.token}", **(headers or {})}
        if with_csrf:
            sent[CSRF_HEADER] = self.csrf
        return requests.request(method, console_url(self.endpoint) + path, data=data, json=json, headers=sent,
                                timeout=30, allow_redirects=False)
