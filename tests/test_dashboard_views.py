"""The dashboard's pages (async views on the read model) against a private Redis that
holds the documented schema (tests.test_read.fill_store)."""

import time

import pytest
from django.test import AsyncClient

from devtools.processes import free_port
from tests.test_read import EXPIRY, fill_store


@pytest.fixture
def store(settings, redis_url):
    return fill_store(settings, redis_url)


async def test_the_overview_shows_each_base_with_its_index_and_the_feed_state(store):
    beat = str(int(time.time() * 1000))
    store.hset("ot:feed:bybit", mapping={"state": "stopped", "heartbeat_ts": beat,
                                         "msgs_per_s": "0.0"})  # fmt: skip
    html = (await AsyncClient().get("/?partial=1")).content.decode()
    assert 'data-exchange="bybit"' in html
    assert 'data-base="BTC"' in html and 'data-base="ETH"' in html
    assert ">66000<" in html and ">2500.5<" in html  # the index prices
    assert f'href="/chain/bybit/BTC/{EXPIRY}/"' in html
    assert "stopped · stale" in html  # stopped: stale despite a fresh heartbeat
    assert "0.0 msg/s" in html


async def test_a_chain_page_exists_only_for_a_chain_in_redis(store):
    client = AsyncClient()
    page = await client.get(f"/chain/bybit/BTC/{EXPIRY}/")
    assert page.status_code == 200
    assert f"/ws/chain/bybit/BTC/{EXPIRY}/" in page.content.decode()
    assert (await client.get("/chain/bybit/BTC/2020-01-03/")).status_code == 404
    assert (await client.get(f"/chain/bybit/DOGE/{EXPIRY}/")).status_code == 404
    assert (await client.get(f"/chain/kraken/BTC/{EXPIRY}/")).status_code == 404


async def test_the_pages_say_so_when_redis_is_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    client = AsyncClient()
    assert (await client.get("/")).status_code == 503
    assert (await client.get(f"/chain/bybit/BTC/{EXPIRY}/")).status_code == 503
