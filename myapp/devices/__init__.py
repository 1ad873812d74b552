"""Devices: per-device upload keys, scoped to sensors, rate-limited, revocable."""

from myapp import auth
from myapp.devices import credentials
from myapp.devices.cli import cli
from myapp.devices.endpoints import ns


def init_app(app):
    """Device keys become a kind of credential the uploads accept."""
    auth.add_key_kind(
        "device",
        prefix=credentials.DEVICE_KEY_PREFIX,
        load=credentials.load_device,
        refusal=credentials.REFUSAL,
    )


__all__ = ["ns", "cli", "init_app"]
