"""Runs the tests against a real Tether: `node apps/server/dist/cli/index.js start` (built by
`npm run build`) on free ports, with TLS beside plain MQTT and its embedded database in a
temporary directory; or the server at TETHER_TEST_URL / TETHER_TEST_MQTT (with
TETHER_TEST_ADMIN_EMAIL and _PASSWORD), where the TLS test is skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple
from urllib.parse import urlparse

import pytest

from tether_device import Device

ROOT = Path(__file__).resolve().parents[3]
CLI = Path(os.environ.get("TETHER_CLI", ROOT / "apps/server/dist/cli/index.js"))
ADMIN_EMAIL = os.environ.get("TETHER_TEST_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("TETHER_TEST_ADMIN_PASSWORD", "admin-password-1")


class Api:
    """Tether's REST API as an admin sees it."""

    def __init__(self, base: str, context: Optional[ssl.SSLContext] = None) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.context = context
        self.token = ""

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            req.add_header("content-type", "application/json")
        if self.token:
            req.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=60, context=self.context) as res:
                raw = res.read()
                return res.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.request(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {answer}"
        return answer


class Server:
    def __init__(self, http_url: str, mqtt_url: str, mqtts_port: Optional[int] = None, ca: Optional[str] = None) -> None:
        self.http_url = http_url
        mqtt = urlparse(mqtt_url)
        self.mqtt_host = mqtt.hostname or "127.0.0.1"
        self.mqtt_port = mqtt.port or 1883
        self.mqtts_port = mqtts_port
        self.ca = ca
        self.tls = ssl.create_default_context(cafile=ca) if ca else None
        self.api = Api(http_url, self.tls)
        self.api.token = self.api.ok("POST", "/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["accessToken"]

    def create_device(self) -> Dict[str, Any]:
        """A new device with its access token (`token`)."""
        return self.api.ok("POST", "/devices", {"name": f"py-{uuid.uuid4().hex[:8]}", "type": "Raspberry Pi"})

    def device(self, created: Dict[str, Any], token: Optional[str] = None) -> Device:
        return Device(created["id"], token or created["token"], self.mqtt_host, self.mqtt_port, publish_timeout=20)


def _spawn() -> Iterator[Server]:
    if not CLI.exists():
        pytest.exit(f"{CLI} is missing: run npm run build first", returncode=2)
    data_dir = tempfile.mkdtemp(prefix="tether-py-")
    # A self-signed certificate for 127.0.0.1: HTTPS, and MQTT over TLS beside plain MQTT.
    cert, key = f"{data_dir}/cert.pem", f"{data_dir}/key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "TETHER_DATA_DIR": data_dir,
        "TETHER_HTTP_PORT": "0",
        "TETHER_MQTT_PORT": "0",
        "TETHER_HTTP_HOST": "127.0.0.1",
        "TETHER_MQTT_HOST": "127.0.0.1",
        "TETHER_ADMIN_EMAIL": ADMIN_EMAIL,
        "TETHER_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TETHER_TLS_CERT": cert,
        "TETHER_TLS_KEY": key,
        "TETHER_MQTTS_PORT": "0",
        "TETHER_LOG_LEVEL": "warn",
        # The wrong-token test must not slow the other tests down.
        "TETHER_MQTT_AUTH_FAILURES_PER_MINUTE": "100000",
    }
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        ["node", str(CLI), "start"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("Tether ready"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.time() + 90
        while not ready.wait(0.2):
            if proc.poll() is not None or time.time() > deadline:
                pytest.exit("Tether did not start:\n" + "".join(lines), returncode=2)
        line = next(l for l in lines if l.startswith("Tether ready"))
        http_url = re.search(r"web (https?://\S+)", line).group(1)  # type: ignore[union-attr]
        mqtt_url = re.search(r"mqtt (mqtt://\S+)", line).group(1)  # type: ignore[union-attr]
        mqtts_url = re.search(r"mqtts (mqtts://\S+)", line).group(1)  # type: ignore[union-attr]
        yield Server(http_url, mqtt_url, urlparse(mqtts_url).port, cert)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def tether() -> Iterator[Server]:
    url = os.environ.get("TETHER_TEST_URL")
    if url:
        yield Server(url, os.environ.get("TETHER_TEST_MQTT", "mqtt://127.0.0.1:1883"))
    else:
        yield from _spawn()


@pytest.fixture
def created(tether: Server) -> Dict[str, Any]:
    return tether.create_device()


@pytest.fixture
def device(tether: Server, created: Dict[str, Any]) -> Iterator[Device]:
    d = tether.device(created).connect(timeout=20)
    yield d
    d.close()
