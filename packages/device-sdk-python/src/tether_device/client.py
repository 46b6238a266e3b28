"""The MQTT device client (README, "Device protocol"): MQTT 5 on paho-mqtt 2, QoS 1 by
default, each publish acknowledged by Tether only once the message is committed."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger("tether_device")

Timestamp = Union[int, float, str, datetime]
"""Milliseconds since the epoch, an ISO 8601 string, or a datetime (naive means UTC)."""

CommandHandler = Callable[["Command"], Any]
ConfigHandler = Callable[[Dict[str, Any]], None]

# CONNACK codes that retrying cannot fix: bad user name or password, not authorized
# (MQTT 3.1.1: 4 and 5; MQTT 5: 0x86 and 0x87). Anything else is retried.
_BAD_CREDENTIALS = {4, 5, 0x86, 0x87}


class TetherError(Exception):
    """Base of the SDK's exceptions."""


class ConnectionRefused(TetherError):
    """Tether refused the CONNECT: `reason_code` is the CONNACK's (0x86: bad user name or
    password, that is a wrong device id or token, or a revoked or expired JWT)."""

    def __init__(self, reason_code: int, reason: str) -> None:
        super().__init__(f"connection refused: {reason} (CONNACK 0x{reason_code:02x})")
        self.reason_code = reason_code
        self.reason = reason


class PublishRejected(TetherError):
    """Tether refused a publish (PUBACK reason code 0x80 or above): nothing of it was stored.
    `reason` is Tether's reason string, e.g. what was wrong with the payload."""

    def __init__(self, topic: str, reason_code: int, reason: str) -> None:
        super().__init__(f"publish to {topic} refused: {reason} (PUBACK 0x{reason_code:02x})")
        self.topic = topic
        self.reason_code = reason_code
        self.reason = reason


class PublishTimeout(TetherError, TimeoutError):
    """No PUBACK in time. The message stays queued and is sent again after a reconnect."""


@dataclass(frozen=True)
class Command:
    """A command sent to the device (`devices/{id}/commands/{commandId}`)."""

    id: str
    name: str
    params: Dict[str, Any] = field(default_factory=dict)
    expires_at: Optional[str] = None


class PublishHandle:
    """One publish in flight; `wait()` blocks until Tether acknowledges it (QoS 1) or it
    has been handed to the network (QoS 0)."""

    def __init__(self, topic: str, info: mqtt.MQTTMessageInfo) -> None:
        self.topic = topic
        self.mid = info.mid
        self._info = info
        self._acked = threading.Event()
        self._reason_code = 0
        self._reason = ""

    def _settle(self, reason_code: int, reason: str) -> None:
        self._reason_code = reason_code
        self._reason = reason
        self._acked.set()

    def wait(self, timeout: Optional[float] = 30.0) -> None:
        """Raises PublishRejected if Tether refused the message, PublishTimeout if no answer
        came within `timeout` seconds (None: wait for ever)."""
        if self._info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise TetherError("publish not queued: the outgoing queue is full")
        if not self._acked.wait(timeout):
            raise PublishTimeout(f"no PUBACK for the publish to {self.topic} within {timeout} s")
        if self._reason_code >= 0x80:
            raise PublishRejected(self.topic, self._reason_code, self._reason)


def _timestamp(ts: Timestamp) -> Union[int, float, str]:
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return ts.isoformat()
    return ts


def _prune(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class Device:
    """A device's connection to Tether.

    Sign in with the device's id and its access token (``dt_…``) or a device JWT::

        with Device("3f0c…", "dt_…", host="tether.local") as device:
            device.telemetry({"temperature": 21.5})

    Each publish blocks until Tether has stored it (``wait=False`` returns a
    :class:`PublishHandle` instead). A lost connection is retried with backoff from
    ``reconnect_min`` to ``reconnect_max`` seconds; messages published meanwhile are kept
    and sent once it is back, and the command and configuration subscriptions are renewed.
    A bad credential is never retried: :meth:`connect` raises :class:`ConnectionRefused`.
    """

    def __init__(
        self,
        device_id: str,
        token: str,
        host: str = "localhost",
        port: Optional[int] = None,
        *,
        tls: Union[bool, ssl.SSLContext] = False,
        qos: int = 1,
        keepalive: int = 30,
        reconnect_min: float = 1,
        reconnect_max: float = 30,
        publish_timeout: float = 30,
        client_id: Optional[str] = None,
    ) -> None:
        if qos not in (0, 1):
            raise ValueError("qos: Tether takes QoS 0 or 1")
        self.device_id = device_id
        self.host = host
        self.port = port if port is not None else (8883 if tls else 1883)
        self.qos = qos
        self.keepalive = keepalive
        self.publish_timeout = publish_timeout
        self._prefix = f"devices/{device_id}/"
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{device_id}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        self._client.username_pw_set(device_id, token)
        if tls:
            self._client.tls_set_context(tls if isinstance(tls, ssl.SSLContext) else ssl.create_default_context())
        self._client.reconnect_delay_set(max(1, int(reconnect_min)), max(1, int(reconnect_max)))
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

        self._lock = threading.Lock()
        self._pending: Dict[int, PublishHandle] = {}
        self._early_acks: Dict[int, tuple] = {}
        self._subscriptions: List[str] = []
        self._connected = threading.Event()
        self._refused: Optional[ConnectionRefused] = None
        self._command_handler: Optional[CommandHandler] = None
        self._config_handler: Optional[ConfigHandler] = None
        # Delivery is at least once: a command id seen already is not run again.
        self._seen_commands: "OrderedDict[str, None]" = OrderedDict()
        # Handlers run here, one at a time in arrival order, never on the network thread
        # (which must stay free to read the PUBACKs the handlers wait for).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-handler")

    # Connection

    def connect(self, timeout: float = 30) -> "Device":
        """Connects and blocks until Tether accepts the device. Raises ConnectionRefused for
        bad credentials, TimeoutError if Tether is not reached within `timeout` seconds
        (while it tries again with backoff)."""
        props = Properties(PacketTypes.CONNECT)
        props.RequestProblemInformation = 1  # PUBACKs with reason strings
        self._client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=True, properties=props)
        self._client.loop_start()
        answered = self._connected.wait(timeout)
        if self._refused or not answered:
            self._client.disconnect()
            self._client.loop_stop()
            raise self._refused or TimeoutError(f"no connection to Tether at {self.host}:{self.port} within {timeout} s")
        return self

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def close(self, timeout: float = 10) -> None:
        """Waits for the handlers and the messages in flight (up to `timeout` s), then disconnects."""
        self._worker.shutdown(wait=True)
        with self._lock:
            pending = list(self._pending.values())
        deadline = time.monotonic() + timeout
        for handle in pending:
            try:
                handle.wait(max(0.0, deadline - time.monotonic()))
            except TetherError:
                pass
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> "Device":
        return self if self.connected else self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        if rc.is_failure:
            if rc.value in _BAD_CREDENTIALS:
                self._refused = ConnectionRefused(rc.value, str(rc))
                log.error("%s", self._refused)
                client.disconnect()  # ends the network loop: retrying cannot fix a credential
                self._connected.set()
            else:
                log.warning("connection refused (%s), retrying", rc)
            return
        with self._lock:
            topics = list(self._subscriptions)
        for topic in topics:
            client.subscribe(topic, qos=1)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        if rc.is_failure and not self._refused:
            log.warning("connection lost (%s), reconnecting", rc)

    # Publishing

    def publish(self, subtopic: str, payload: Any = None, *, qos: Optional[int] = None, wait: bool = True) -> PublishHandle:
        """Publishes JSON (None: an empty payload) on `devices/{id}/{subtopic}`."""
        if self._refused:
            raise self._refused
        topic = self._prefix + subtopic
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        info = self._client.publish(topic, body, qos=self.qos if qos is None else qos)
        handle = PublishHandle(topic, info)
        with self._lock:
            early = self._early_acks.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = handle
        if early is not None:
            handle._settle(*early)
        if wait:
            handle.wait(self.publish_timeout)
        return handle

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, rc: ReasonCode, props: Any) -> None:
        reason = getattr(props, "ReasonString", None) or str(rc)
        with self._lock:
            handle = self._pending.pop(mid, None)
            if handle is None:
                # The PUBACK beat publish() to registering its handle.
                self._early_acks[mid] = (rc.value, reason)
        if handle is not None:
            handle._settle(rc.value, reason)

    def telemetry(self, values: Mapping[str, Any], ts: Optional[Timestamp] = None, *, wait: bool = True) -> PublishHandle:
        """Sends readings, `{"temperature": 21.5, "humidity": 40}`. Without `ts` Tether
        stamps them with their receive time (unique per device, so a burst loses nothing)."""
        payload: Any = dict(values) if ts is None else {"ts": _timestamp(ts), "values": dict(values)}
        return self.publish("telemetry", payload, wait=wait)

    def alert(
        self,
        message: str,
        severity: str = "warning",
        *,
        type: Optional[str] = None,
        data: Optional[Mapping[str, Any]] = None,
        ts: Optional[Timestamp] = None,
        files: Optional[List[str]] = None,
        wait: bool = True,
    ) -> PublishHandle:
        """Raises an alert. Severities: critical, major, minor, warning, info. An alert with a
        `ts` repeated with the same `type` is stored once (a safe re-send)."""
        payload = _prune(
            {
                "message": message,
                "severity": severity,
                "type": type,
                "data": dict(data) if data is not None else None,
                "ts": _timestamp(ts) if ts is not None else None,
                "files": files,
            }
        )
        return self.publish("alerts", payload, wait=wait)

    def heartbeat(
        self,
        uptime: Optional[float] = None,
        battery: Optional[float] = None,
        rssi: Optional[float] = None,
        *,
        wait: bool = True,
    ) -> PublishHandle:
        """Says the device is alive, optionally with its uptime (s), battery (%) and rssi (dBm)."""
        payload = _prune({"uptime": uptime, "battery": battery, "rssi": rssi})
        return self.publish("heartbeat", payload or None, wait=wait)

    def location(
        self,
        lat: float,
        lon: float,
        *,
        alt: Optional[float] = None,
        speed: Optional[float] = None,
        heading: Optional[float] = None,
        ts: Optional[Timestamp] = None,
        wait: bool = True,
    ) -> PublishHandle:
        """Reports a position (degrees; altitude in m, speed in m/s, heading in degrees)."""
        payload = _prune(
            {
                "lat": lat,
                "lon": lon,
                "alt": alt,
                "speed": speed,
                "heading": heading,
                "ts": _timestamp(ts) if ts is not None else None,
            }
        )
        return self.publish("location", payload, wait=wait)

    def report_attributes(self, attributes: Mapping[str, Any], *, wait: bool = True) -> PublishHandle:
        """Reports the device's own attributes, `{"fw_version": "1.4.2", "model": "rpi4"}`."""
        return self.publish("attributes", dict(attributes), wait=wait)

    # Commands and configuration

    def on_command(self, handler: CommandHandler) -> None:
        """Runs `handler(command)` for each command. What it returns is the command's result
        (JSON); an exception it raises fails the command with its message. Commands queued
        while the device was offline arrive once it is subscribed."""
        self._command_handler = handler
        self._subscribe(self._prefix + "commands/+")

    def on_config(self, handler: ConfigHandler) -> None:
        """Runs `handler(config)` with the resolved configuration now (it is retained) and on
        every change, e.g. `{"reportIntervalMs": 60000}`."""
        self._config_handler = handler
        self._subscribe(self._prefix + "config")

    def _subscribe(self, topic: str) -> None:
        with self._lock:
            if topic in self._subscriptions:
                return
            self._subscriptions.append(topic)
        if self.connected:
            self._client.subscribe(topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not msg.topic.startswith(self._prefix):
            return
        path = msg.topic[len(self._prefix) :]
        if path == "config" and self._config_handler:
            self._submit(self._run_config, msg.payload)
        elif path.startswith("commands/") and path.count("/") == 1 and self._command_handler:
            command_id = path[len("commands/") :]
            if command_id in self._seen_commands:
                return
            self._seen_commands[command_id] = None
            if len(self._seen_commands) > 1000:
                self._seen_commands.popitem(last=False)
            self._submit(self._run_command, command_id, msg.payload)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self._worker.submit(fn, *args)
        except RuntimeError:
            pass  # closing: the handlers have stopped

    def _run_config(self, payload: bytes) -> None:
        try:
            config = json.loads(payload) if payload else {}
        except ValueError:
            log.warning("configuration is not JSON, ignored")
            return
        try:
            self._config_handler(config)  # type: ignore[misc]
        except Exception:
            log.exception("configuration handler failed")

    def _run_command(self, command_id: str, payload: bytes) -> None:
        reply: Dict[str, Any]
        try:
            body = json.loads(payload)
            command = Command(
                id=body.get("id", command_id),
                name=body["name"],
                params=body.get("params") or {},
                expires_at=body.get("expiresAt"),
            )
            result = self._command_handler(command)  # type: ignore[misc]
            json.dumps(result, allow_nan=False)  # a result that is not JSON fails the command here
            reply = {"status": "ok"} if result is None else {"status": "ok", "result": result}
        except Exception as err:  # the handler's failure is the command's result
            reply = {"status": "error", "error": str(err) or type(err).__name__}
        try:
            self.publish(f"commands/{command_id}/result", reply, qos=1)
        except TetherError as err:
            log.error("result of command %s not delivered: %s", command_id, err)
