"""The SDK against a real Tether: what a device sends is read back through the REST API."""

from __future__ import annotations

import queue
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List

import pytest

from tether_device import Command, ConnectionRefused, Device, PublishRejected


def eventually(read: Callable[[], Any], timeout: float = 10) -> Any:
    """Reads until `read()` gives something truthy (stored data is committed before the
    PUBACK, but a command's or alert's row may be read a moment later)."""
    deadline = time.time() + timeout
    while True:
        value = read()
        if value or time.time() > deadline:
            return value
        time.sleep(0.1)


def test_telemetry_is_stored(tether, created, device: Device) -> None:
    device.telemetry({"temperature": 21.5, "humidity": 40})
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    device.telemetry({"temperature": 19.0}, ts=at)
    series = tether.api.ok("GET", f"/devices/{created['id']}/telemetry?keys=temperature,humidity&from={(at - timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}")["series"]
    assert sorted(p["value"] for p in series["temperature"]) == [19.0, 21.5]
    assert [p["value"] for p in series["humidity"]] == [40]
    stamped = [p for p in series["temperature"] if p["value"] == 19.0][0]
    assert datetime.fromisoformat(stamped["ts"].replace("Z", "+00:00")) == at


def test_alert_is_stored(tether, created, device: Device) -> None:
    device.alert("Gas leakage detected", "critical", type="gas", data={"ppm": 900})
    items = eventually(lambda: tether.api.ok("GET", f"/alerts?deviceId={created['id']}")["items"])
    assert len(items) == 1
    assert (items[0]["message"], items[0]["severity"], items[0]["type"], items[0]["data"]) == (
        "Gas leakage detected",
        "critical",
        "gas",
        {"ppm": 900},
    )


def test_heartbeats_are_stored(tether, created, device: Device) -> None:
    device.heartbeat()
    device.heartbeat(uptime=3600, battery=87, rssi=-61)
    items = tether.api.ok("GET", f"/devices/{created['id']}/heartbeats")["items"]
    assert sorted(((h["uptime"], h["battery"], h["rssi"]) for h in items), key=str) == sorted([(None, None, None), (3600, 87, -61)], key=str)
    status = tether.api.ok("GET", f"/devices/{created['id']}")["status"]
    assert status["online"] is True and status["lastSeenAt"] is not None


def test_location_is_stored(tether, created, device: Device) -> None:
    device.location(51.5072, -0.1276, alt=11, speed=1.5)
    items = tether.api.ok("GET", f"/devices/{created['id']}/locations")["items"]
    assert [(p["lat"], p["lon"], p["alt"], p["speed"]) for p in items] == [(51.5072, -0.1276, 11, 1.5)]


def test_a_burst_of_100_without_ts_is_all_stored(tether, created, device: Device) -> None:
    handles = [device.telemetry({"n": i}, wait=False) for i in range(100)]
    for h in handles:
        h.wait(30)
    points = tether.api.ok("GET", f"/devices/{created['id']}/telemetry?keys=n")["series"]["n"]
    assert sorted(p["value"] for p in points) == list(range(100))


def test_a_command_reaches_the_handler_and_its_result_completes_it(tether, created, device: Device) -> None:
    seen: "queue.Queue[Command]" = queue.Queue()

    def handle(command: Command) -> Dict[str, Any]:
        seen.put(command)
        return {"rebooted": True, "delay": command.params["delay"]}

    device.on_command(handle)
    done = tether.api.ok(
        "POST", f"/devices/{created['id']}/commands?wait=true", {"name": "reboot", "params": {"delay": 5}, "timeoutMs": 10000}
    )
    assert (done["status"], done["result"], done["error"]) == ("succeeded", {"rebooted": True, "delay": 5}, None)
    command = seen.get_nowait()
    assert (command.id, command.name, command.params) == (done["id"], "reboot", {"delay": 5})


def test_a_handler_that_raises_fails_the_command_with_its_message(tether, created, device: Device) -> None:
    def handle(command: Command) -> None:
        raise RuntimeError("relay stuck")

    device.on_command(handle)
    done = tether.api.ok("POST", f"/devices/{created['id']}/commands?wait=true", {"name": "open", "params": {}, "timeoutMs": 10000})
    assert (done["status"], done["error"]) == ("failed", "relay stuck")


def test_a_command_queued_while_offline_arrives_on_subscribe(tether, created) -> None:
    queued = tether.api.ok("POST", f"/devices/{created['id']}/commands", {"name": "sync", "params": {}, "timeoutMs": 20000})
    with tether.device(created) as device:
        device.on_command(lambda c: c.name)
        done = eventually(
            lambda: (c := tether.api.ok("GET", f"/devices/{created['id']}/commands/{queued['id']}"))["status"] == "succeeded" and c
        )
    assert done and done["result"] == "sync"


def test_a_configuration_change_reaches_the_handler(tether, created, device: Device) -> None:
    configs: "queue.Queue[Dict[str, Any]]" = queue.Queue()
    device.on_config(configs.put)
    tether.api.ok("PUT", f"/devices/{created['id']}/config/reportIntervalMs", {"value": 60000})

    def latest() -> Dict[str, Any]:
        config: Dict[str, Any] = {}
        while not configs.empty():
            config = configs.get_nowait()
        return config

    config: Dict[str, Any] = {}
    deadline = time.time() + 10
    while config.get("reportIntervalMs") != 60000 and time.time() < deadline:
        config = latest() or config
        time.sleep(0.1)
    assert config.get("reportIntervalMs") == 60000

    # Retained: a device that subscribes later gets the configuration at once.
    later: "queue.Queue[Dict[str, Any]]" = queue.Queue()
    with tether.device(created) as second:
        second.on_config(later.put)
        assert later.get(timeout=10).get("reportIntervalMs") == 60000


def test_a_wrong_token_is_refused_with_a_clear_exception(tether, created) -> None:
    with pytest.raises(ConnectionRefused) as refused:
        tether.device(created, token="dt_not-the-token").connect(timeout=20)
    assert refused.value.reason_code == 0x86
    assert "Bad user name or password" in str(refused.value)


def test_bad_input_is_refused_and_the_connection_stays(tether, created, device: Device) -> None:
    with pytest.raises(PublishRejected) as rejected:
        device.telemetry({"blob": "x" * 300_000})
    assert rejected.value.reason_code == 0x87
    assert "larger than" in rejected.value.reason
    assert device.connected
    device.telemetry({"after": 1})
    assert tether.api.ok("GET", f"/devices/{created['id']}/telemetry?keys=after")["series"]["after"][0]["value"] == 1


class Proxy:
    """A TCP proxy in front of Tether's MQTT port whose connections can be cut, and which
    can refuse new ones for a while: a network that goes away and comes back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.sockets: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_after_a_lost_connection_it_reconnects_sends_what_was_queued_and_still_gets_commands(tether, created) -> None:
    proxy = Proxy(tether.mqtt_host, tether.mqtt_port)
    device = Device(created["id"], created["token"], "127.0.0.1", proxy.port, reconnect_min=1, reconnect_max=2)
    try:
        device.connect(timeout=20)
        device.on_command(lambda c: "pong")
        device.telemetry({"seq": 1})

        proxy.open = False
        proxy.cut()
        assert eventually(lambda: not device.connected, 5)
        offline = device.telemetry({"seq": 2}, wait=False)  # kept while there is no connection
        time.sleep(1.5)
        proxy.open = True
        offline.wait(30)
        assert eventually(lambda: device.connected, 10)

        points = tether.api.ok("GET", f"/devices/{created['id']}/telemetry?keys=seq")["series"]["seq"]
        assert sorted(p["value"] for p in points) == [1, 2]
        done = tether.api.ok("POST", f"/devices/{created['id']}/commands?wait=true", {"name": "ping", "params": {}, "timeoutMs": 10000})
        assert (done["status"], done["result"]) == ("succeeded", "pong")
    finally:
        device.close()
        proxy.close()


def test_a_device_jwt_signs_in_as_the_token_does(tether, created) -> None:
    jwt = tether.api.ok("POST", "/auth/device-token", {"deviceId": created["id"]})["token"]
    with tether.device(created, token=jwt) as device:
        device.telemetry({"signed_in_with": 1})
    assert tether.api.ok("GET", f"/devices/{created['id']}/telemetry?keys=signed_in_with")["series"]["signed_in_with"][0]["value"] == 1


def test_over_tls(tether, created) -> None:
    if tether.mqtts_port is None:
        pytest.skip("the server under test has no MQTT over TLS")
    device = Device(created["id"], created["token"], "127.0.0.1", tether.mqtts_port, tls=tether.tls)
    with device:
        device.telemetry({"over_tls": 1})
    assert tether.api.ok("GET", f"/devices/{created['id']}/telemetry?keys=over_tls")["series"]["over_tls"][0]["value"] == 1
    with pytest.raises(ConnectionRefused):
        Device(created["id"], "dt_wrong", "127.0.0.1", tether.mqtts_port, tls=tether.tls).connect(timeout=20)
