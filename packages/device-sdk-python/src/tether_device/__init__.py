"""Tether's device SDK for Python: a device publishes telemetry, alerts, heartbeats,
locations and attributes over MQTT, and receives commands and its configuration."""

from .client import (
    Command,
    ConnectionRefused,
    Device,
    PublishHandle,
    PublishRejected,
    PublishTimeout,
    TetherError,
)

__all__ = [
    "Command",
    "ConnectionRefused",
    "Device",
    "PublishHandle",
    "PublishRejected",
    "PublishTimeout",
    "TetherError",
]
