"""A throwaway web server for the sandbox: Django's threaded WSGI server serving only the sandbox
(integrations.bench.serve) in a subprocess on a free local port, so the sandbox's CPU and memory are
not counted as ours."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests
from django.conf import settings


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sandbox_server(*, provider, startup_seconds=60):
    """Yields the base URL of a running server with PROVIDER_SANDBOX on, the same database and
    settings as this process; settings.SITE_URL points at it meanwhile. Stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PROVIDER_SANDBOX": "true", "SITE_URL": url}
    process = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, "-m", "integrations.bench.serve", str(port)],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    previous = settings.SITE_URL
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                if requests.get(f"{url}/sandbox/{provider}/_control", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The sandbox server on {url} did not start.")
            time.sleep(0.3)
        settings.SITE_URL = url
        yield url
    finally:
        settings.SITE_URL = previous
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
