"""Devices: per-device upload keys, scoped to sensors, rate-limited, revocable."""

from myapp.devices.cli import cli
from myapp.devices.endpoints import ns

__all__ = ["ns", "cli"]
