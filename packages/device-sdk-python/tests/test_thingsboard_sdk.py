"""ThingsBoard's official Python SDK (tb-mqtt-client, vendored unmodified in thingsboard_sdk/) against a
real Tether: what the SDK sends is read back through Tether's REST API, and what Tether sends reaches the
SDK's own callbacks. README, "ThingsBoard devices"."""

from __future__ import annotations

import queue
import sys
import threading
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

#: Every wait for Tether (a connection, a callback, a PUBACK) fails after this long instead of hanging CI.
WAIT = 20

SDK_DIR = Path(__file__).resolve().parent / "thingsboard_sdk"


def _import_sdk() -> Tuple[Any, Any, List[Tuple[str, str]]]:
    """Imports the SDK's modules as its package lays them out (top-level `utils`, `sdk_utils`,
    `tb_device_mqtt`, `tb_gateway_mqtt`). On import, tb_device_mqtt looks for ThingsBoard's paho fork
    (`tb-paho-mqtt-client`, on no registry this project reaches) and, missing, asks
    `utils.install_package` to pip-install it, which runs pip twice (about 10 s to fail here, or changes the
    venv where pip can reach PyPI); when that returns False it imports whatever `paho` is installed. So
    that call is answered "not installed" at once and recorded, and the SDK runs on stock paho-mqtt 2."""
    sys.path.insert(0, str(SDK_DIR))
    try:
        import utils

        assert Path(utils.__file__).parent == SDK_DIR, f"another module named utils was imported first: {utils.__file__}"
        asked: List[Tuple[str, str]] = []
        pip_install = utils.install_package

        def not_installed(package: str, version: str = "upgrade") -> bool:
            asked.append((package, version))
            return False

        utils.install_package = not_installed
        try:
            import tb_device_mqtt
            import tb_gateway_mqtt
        finally:
            utils.install_package = pip_install
    finally:
        # Its modules stay imported; its generic names (utils) shadow nothing imported later.
        sys.path.remove(str(SDK_DIR))
    return tb_device_mqtt, tb_gateway_mqtt, asked


tb_device_mqtt, tb_gateway_mqtt, PIP_INSTALLS_ASKED = _import_sdk()
TBDeviceMqttClient = tb_device_mqtt.TBDeviceMqttClient
TBGatewayMqttClient = tb_gateway_mqtt.TBGatewayMqttClient


def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)
    return value


def pubacks(client: Any, info: Any) -> List[Any]:
    """The PUBACK reason codes of every message a send_* call published (the SDK itself only logs them)."""
    messages = info.message_info if isinstance(info.message_info, list) else [info.message_info]
    assert messages, "the SDK published nothing"
    for message in messages:
        message.wait_for_publish(timeout=WAIT)
        assert message.is_published(), f"no PUBACK within {WAIT} s"
    return [client.puback_codes[message.mid] for message in messages]


def acked(client: Any, info: Any) -> None:
    """Waits until Tether has accepted everything a send_* call published: it sends the PUBACK once the
    data is committed, so what was sent is readable through the REST API right after."""
    refused = [code for code in pubacks(client, info) if code.is_failure]
    assert not refused, f"Tether refused: {refused}"


def within(timeout: float, call: Callable[[], Any]) -> Any:
    """The result of a blocking SDK call, failing after `timeout` s (the call goes on in a daemon thread)."""
    result: "queue.Queue[Tuple[bool, Any]]" = queue.Queue()

    def run() -> None:
        try:
            result.put((True, call()))
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            result.put((False, err))

    threading.Thread(target=run, daemon=True).start()
    try:
        ok, value = result.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no answer within {timeout} s")
    if not ok:
        raise value
    return value


def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def sdk(tether) -> Iterator[Callable[..., Any]]:
    """connect(token, client_class=TBDeviceMqttClient, port=None, **connect_args): an SDK client connected to
    Tether with the access token as username (ThingsBoard style) and past its start-up handshake (its
    subscriptions, then the getSessionLimits RPC it sends on connect answered and applied)."""
    clients: List[Any] = []

    def connect(token: str, client_class: Any = TBDeviceMqttClient, port: Any = None, **connect_args: Any) -> Any:
        client = client_class(tether.mqtt_host, port or tether.mqtt_port, username=token)
        clients.append(client)
        client.puback_codes = {}
        sdk_on_publish = client._client.on_publish

        def on_publish(paho_client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
            client.puback_codes[mid] = reason_code
            sdk_on_publish(paho_client, userdata, mid, reason_code, properties)

        client._client.on_publish = on_publish
        client.connect(min_reconnect_delay=1, timeout=5, **connect_args)
        wait_until(client.is_connected, "CONNACK")
        wait_until(lambda: client.rate_limits_received, "the answer to getSessionLimits")
        return client

    yield connect
    for client in clients:
        client.stop()
        client.disconnect()


def test_the_sdk_runs_on_stock_paho_mqtt() -> None:
    """It asked for its paho fork once, was told "not installed", and imported paho-mqtt 2's client."""
    assert PIP_INSTALLS_ASKED == [("tb-paho-mqtt-client", ">=2.1.2")]
    assert metadata.version("paho-mqtt").startswith("2.")
    stock = Path(str(metadata.distribution("paho-mqtt").locate_file("paho/mqtt/client.py"))).resolve()
    assert Path(tb_device_mqtt.paho.__file__).resolve() == stock


def test_telemetry_and_attributes_are_stored(tether, created, sdk) -> None:
    client = sdk(created["token"])
    acked(client, client.send_telemetry({"temperature": 21.5, "humidity": 40}))
    at = int(time.time() * 1000) - 300_000
    acked(client, client.send_telemetry({"ts": at, "values": {"temperature": 19.0}}))
    acked(client, client.send_telemetry([{"ts": at - 1000, "values": {"pressure": 1012}}, {"ts": at, "values": {"pressure": 1013}}]))
    acked(client, client.send_attributes({"firmware": "1.4.2", "model": "rpi4"}))

    device = created["id"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000 - 60))
    series = tether.api.ok("GET", f"/devices/{device}/telemetry?keys=temperature,humidity,pressure&from={since}")["series"]
    assert sorted(p["value"] for p in series["temperature"]) == [19.0, 21.5]
    assert [p["value"] for p in series["humidity"]] == [40]
    assert sorted((p["ts"], p["value"]) for p in series["pressure"]) == [(iso(at - 1000), 1012), (iso(at), 1013)]
    assert [p["ts"] for p in series["temperature"] if p["value"] == 19.0] == [iso(at)]
    latest = tether.api.ok("GET", f"/devices/{device}/telemetry/latest")["values"]
    assert (latest["temperature"]["value"], latest["humidity"]["value"], latest["pressure"]["value"]) == (21.5, 40, 1013)
    reported = tether.api.ok("GET", f"/devices/{device}/attributes")["reported"]
    assert {k: v["value"] for k, v in reported.items()} == {"firmware": "1.4.2", "model": "rpi4"}


def iso(ms: int) -> str:
    """Tether's timestamp for `ms` milliseconds since the epoch."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def test_a_command_reaches_the_rpc_handler_and_the_reply_completes_it(tether, created, sdk) -> None:
    requests: "queue.Queue[Tuple[str, Any]]" = queue.Queue()
    client = sdk(created["token"])

    def on_request(request_id: str, body: Dict[str, Any]) -> None:
        requests.put((request_id, body))
        client.send_rpc_reply(request_id, {"pin": body["params"]["pin"], "value": body["params"]["value"], "done": True})

    client.set_server_side_rpc_request_handler(on_request)
    # A second device's SDK client, subscribed to the same topics, gets nothing.
    other = tether.create_device()
    bystander = sdk(other["token"])
    seen_by_other: "queue.Queue[Any]" = queue.Queue()
    bystander.set_server_side_rpc_request_handler(lambda request_id, body: seen_by_other.put(body))

    done = tether.api.ok(
        "POST", f"/devices/{created['id']}/commands?wait=true", {"name": "setGpio", "params": {"pin": 4, "value": 1}, "timeoutMs": WAIT * 1000}
    )
    assert (done["status"], done["result"], done["error"]) == ("succeeded", {"pin": 4, "value": 1, "done": True}, None)
    request_id, body = requests.get_nowait()
    assert request_id.isdigit()
    assert body == {"method": "setGpio", "params": {"pin": 4, "value": 1}}
    assert seen_by_other.empty()


def test_a_command_queued_while_offline_reaches_the_handler_on_connect(tether, created, sdk) -> None:
    queued = tether.api.ok("POST", f"/devices/{created['id']}/commands", {"name": "sync", "params": {"full": True}, "timeoutMs": WAIT * 1000})
    assert queued["status"] == "queued"
    # The handler is set before connecting: the SDK subscribes to v1/devices/me/rpc/request/+ on connect.
    client = TBDeviceMqttClient(tether.mqtt_host, tether.mqtt_port, username=created["token"])
    client.set_server_side_rpc_request_handler(lambda request_id, body: client.send_rpc_reply(request_id, {"synced": body["params"]}))
    try:
        client.connect(min_reconnect_delay=1, timeout=5)
        done = wait_until(
            lambda: (c := tether.api.ok("GET", f"/devices/{created['id']}/commands/{queued['id']}"))["status"] == "succeeded" and c,
            "the queued command succeeded",
        )
    finally:
        client.stop()
        client.disconnect()
    assert done["result"] == {"synced": {"full": True}}


def test_client_side_rpc_is_answered(tether, created, sdk) -> None:
    client = sdk(created["token"])
    answers: "queue.Queue[Tuple[Any, Any, Any]]" = queue.Queue()

    def answer(request_id: Any, body: Any, error: Any) -> None:
        answers.put((request_id, body, error))

    before = int(time.time() * 1000)
    client.send_rpc_call("getCurrentTime", {}, answer)
    _, body, error = answers.get(timeout=WAIT)
    assert error is None
    assert before <= body["time"] <= int(time.time() * 1000)

    # The SDK sent getSessionLimits on connect and applied the answer (80 % of the payload limit, as on ThingsBoard).
    client.send_rpc_call("getSessionLimits", {"timeout": 5000}, answer)
    _, limits, _ = answers.get(timeout=WAIT)
    assert set(limits) == {"maxPayloadSize", "maxInflightMessages", "rateLimits"}
    assert limits["rateLimits"] == {} and limits["maxPayloadSize"] > 0 and limits["maxInflightMessages"] > 0
    assert client.max_payload_size == int(limits["maxPayloadSize"] * 80 / 100)

    # Tether has no rule engine to route other methods to: it answers them with an error (ThingsBoard
    # without a rule for the method answers nothing and the caller times out).
    client.send_rpc_call("openValve", {"valve": 2}, answer)
    _, refused, _ = answers.get(timeout=WAIT)
    assert set(refused) == {"error"} and "openValve" in refused["error"]
    assert client.is_connected()


def test_claiming_is_refused_and_the_connection_stays(tether, created, sdk) -> None:
    """v1/devices/me/claim is not served (README: Tether's claim codes replace it): MQTT 5 PUBACK 0x87."""
    client = sdk(created["token"])
    assert [code.value for code in pubacks(client, client.claim("secret", duration=60000))] == [0x87]
    assert client.is_connected()
    acked(client, client.send_telemetry({"after_claim": 1}))
    assert tether.api.ok("GET", f"/devices/{created['id']}/telemetry/latest")["values"]["after_claim"]["value"] == 1


def test_request_attributes_answers_client_and_shared_attributes(tether, created, sdk) -> None:
    device = created["id"]
    tether.api.ok("PUT", f"/devices/{device}/config/interval", {"value": 30})
    tether.api.ok("PUT", f"/devices/{device}/config/mode", {"value": "eco"})
    client = sdk(created["token"])
    acked(client, client.send_attributes({"firmware": "1.2.0", "model": "esp32"}))
    answers: "queue.Queue[Tuple[Any, Any]]" = queue.Queue()

    def answer(body: Any, error: Any) -> None:
        answers.put((body, error))

    client.request_attributes(client_keys=["firmware", "missing"], shared_keys=["interval"], callback=answer)
    assert answers.get(timeout=WAIT) == ({"client": {"firmware": "1.2.0"}, "shared": {"interval": 30}}, None)
    client.request_attributes(shared_keys=["interval", "mode"], callback=answer)
    assert answers.get(timeout=WAIT) == ({"shared": {"interval": 30, "mode": "eco"}}, None)
    client.request_attributes(client_keys=["model"], callback=answer)
    assert answers.get(timeout=WAIT) == ({"client": {"model": "esp32"}}, None)


def test_configuration_changes_reach_attribute_subscriptions(tether, created, sdk) -> None:
    device = created["id"]
    tether.api.ok("PUT", f"/devices/{device}/config/interval", {"value": 30})
    client = sdk(created["token"])
    interval: "queue.Queue[Any]" = queue.Queue()
    everything: "queue.Queue[Any]" = queue.Queue()
    client.subscribe_to_attribute("interval", lambda body, error: interval.put(body))
    client.subscribe_to_all_attributes(lambda body, error: everything.put(body))
    other = tether.create_device()
    bystander = sdk(other["token"])
    seen_by_other: "queue.Queue[Any]" = queue.Queue()
    bystander.subscribe_to_all_attributes(lambda body, error: seen_by_other.put(body))

    tether.api.ok("PUT", f"/devices/{device}/config/interval", {"value": 60})
    assert interval.get(timeout=WAIT) == {"interval": 60}
    assert everything.get(timeout=WAIT) == {"interval": 60}
    tether.api.ok("PUT", f"/devices/{device}/config/mode", {"value": "eco"})
    assert everything.get(timeout=WAIT) == {"mode": "eco"}
    tether.api.ok("DELETE", f"/devices/{device}/config/mode")
    assert everything.get(timeout=WAIT) == {"deleted": ["mode"]}
    # Only the messages that carry "interval" reach its subscription; nothing reaches the other device.
    assert interval.empty()
    assert seen_by_other.empty()


def test_provisioning_gives_credentials_that_connect_and_publish(tether, sdk) -> None:
    project = tether.api.ok("POST", "/projects", {"name": f"tb-provisioning-{uid()}"})
    keys = tether.api.ok("POST", f"/projects/{project['id']}/provisioning", {})
    serial = f"tb-serial-{uid()}"

    credentials = within(
        WAIT, lambda: TBDeviceMqttClient.provision(tether.mqtt_host, keys["key"], keys["secret"], port=tether.mqtt_port, device_name=serial)
    )
    assert credentials is not None, "provisioning failed (the SDK logs Tether's errorMsg)"
    assert (credentials["status"], credentials["credentialsType"]) == ("SUCCESS", "ACCESS_TOKEN")
    device = tether.api.ok("GET", f"/devices/{credentials['deviceId']}")
    assert (device["name"], device["serial"], device["projectId"]) == (serial, serial, project["id"])

    client = sdk(credentials["credentialsValue"])
    acked(client, client.send_telemetry({"provisioned": 1}))
    assert tether.api.ok("GET", f"/devices/{device['id']}/telemetry/latest")["values"]["provisioned"]["value"] == 1

    # Without a device name, as ThingsBoard's own provisioning example asks: a new device with a generated name.
    unnamed = within(WAIT, lambda: TBDeviceMqttClient.provision(tether.mqtt_host, keys["key"], keys["secret"], port=tether.mqtt_port))
    assert unnamed is not None and unnamed["status"] == "SUCCESS"
    generated = tether.api.ok("GET", f"/devices/{unnamed['deviceId']}")
    assert (generated["projectId"], generated["serial"], len(generated["name"])) == (project["id"], None, 20)

    # A wrong secret: Tether answers FAILURE, the SDK returns no credentials, no device is made.
    refused_serial = f"tb-serial-{uid()}"
    assert (
        within(WAIT, lambda: TBDeviceMqttClient.provision(tether.mqtt_host, keys["key"], "ps_wrong", port=tether.mqtt_port, device_name=refused_serial))
        is None
    )
    assert tether.api.ok("GET", f"/devices?q={refused_serial}")["items"] == []


def test_over_tls(tether, created, sdk) -> None:
    if tether.mqtts_port is None:
        pytest.skip("the server under test has no MQTT over TLS")
    client = sdk(created["token"], port=tether.mqtts_port, tls=True, ca_certs=tether.ca)
    acked(client, client.send_telemetry({"over_tls": 1}))
    assert tether.api.ok("GET", f"/devices/{created['id']}/telemetry/latest")["values"]["over_tls"]["value"] == 1


def test_gateway_connects_sub_devices_stores_their_data_and_answers_their_rpc(tether, sdk) -> None:
    gateway = tether.api.ok("POST", "/devices", {"name": f"tb-gateway-{uid()}", "metadata": {"isGateway": True}})
    client = sdk(gateway["token"], client_class=TBGatewayMqttClient)
    a, b = f"tb-sensor-a-{uid()}", f"tb-sensor-b-{uid()}"
    requests: "queue.Queue[Any]" = queue.Queue()

    def on_request(gateway_client: Any, body: Dict[str, Any]) -> None:
        requests.put(body)
        gateway_client.gw_send_rpc_reply(body["device"], body["data"]["id"], {"calibrated": body["data"]["params"]["offset"]})

    client.gw_set_server_side_rpc_request_handler(on_request)
    for name in (a, b):
        acked(client, client.gw_connect_device(name, device_type="thermometer"))
    at = int(time.time() * 1000) - 1000
    acked(client, client.gw_send_telemetry(a, {"temp": 21.5}))
    acked(client, client.gw_send_telemetry(b, [{"ts": at, "values": {"temp": 19}}, {"ts": at + 1, "values": {"hum": 40}}]))
    acked(client, client.gw_send_attributes(b, {"firmware": "0.9"}))

    def one(name: str) -> Dict[str, Any]:
        found = [d for d in tether.api.ok("GET", f"/devices?q={name}")["items"] if d["name"] == name]
        assert len(found) == 1, f"{name}: {found}"
        return found[0]

    device_a, device_b = one(a), one(b)
    assert device_a["projectId"] == device_b["projectId"] == gateway["projectId"]
    assert device_a["type"] == device_b["type"] == "thermometer"
    assert tether.api.ok("GET", f"/devices/{device_a['id']}/telemetry/latest")["values"]["temp"]["value"] == 21.5
    latest_b = tether.api.ok("GET", f"/devices/{device_b['id']}/telemetry/latest")["values"]
    assert (latest_b["temp"]["value"], latest_b["hum"]["value"]) == (19, 40)
    assert tether.api.ok("GET", f"/devices/{device_b['id']}/attributes")["reported"]["firmware"]["value"] == "0.9"

    done = tether.api.ok(
        "POST", f"/devices/{device_a['id']}/commands?wait=true", {"name": "calibrate", "params": {"offset": 0.5}, "timeoutMs": WAIT * 1000}
    )
    assert (done["status"], done["result"]) == ("succeeded", {"calibrated": 0.5})
    request = requests.get_nowait()
    assert (request["device"], request["data"]["method"], request["data"]["params"]) == (a, "calibrate", {"offset": 0.5})
