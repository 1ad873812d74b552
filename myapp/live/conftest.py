"""Fixtures of the live feature: a throwaway redis-server."""

import pytest

from testing.servers import Redis


@pytest.fixture(scope="module")
def redis_url():
    redis = Redis()
    yield redis.url
    redis.stop()
