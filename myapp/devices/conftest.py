"""Fixtures for devices: a device of alice's and its key."""

import pytest

from testing.devices import device_key


@pytest.fixture
def box(alice):
    """A device of alice's that may write any sensor."""
    return device_key(alice, "box")


@pytest.fixture
def kitchen(alice):
    """A device of alice's that may write kitchen/* and the sensor door only."""
    return device_key(alice, "kitchen", sensors=["kitchen/*", "door"])
