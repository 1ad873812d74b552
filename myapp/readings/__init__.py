"""Sensor readings: upload with safe retries, keyset pages, stats and export."""

from myapp.readings.endpoints import ns

__all__ = ["ns"]
