"""The Celery tasks with a real worker: `celery -A tracker_project worker` as a child
process on its own SQLite file, brokered by a private Redis, against the simulator.

The worker starts once for the module (it takes seconds), so the tests share one
simulator and one database and run in file order; each states what it starts from.
"""

import sqlite3
import sys
import time
from datetime import date, timedelta

import httpx
import pytest
import redis
from celery import Celery
from django_celery_beat.models import PeriodicTask

from devtools.processes import ManagedProcess, wait_for
from devtools.receiver import Receiver
from devtools.simulators import Simulator
from devtools.stack import Stack
from feed.exchanges.bybit import Bybit
from feed.refresh import locked_refresh
from options import keys, store
from options.instruments import Instrument
from options.models import OptionContract
from tests.test_universe import instrument

CHANNEL = keys.universe_channel("bybit")


class Worker:
    """The worker process plus what a test needs to drive and observe it."""

    def __init__(self, stack: Stack):
        self.sim = stack.sim
        self.db_path = stack.workdir / "tracker.sqlite3"
        self.log = stack.workdir / "worker.log"
        self.redis = stack.client
        self.producer = Celery("tests", broker=stack.redis_url)
        self.env = {
            **stack.env,
            "TRACKER_FEED_ONLY": "0",
            "TRACKER_UNDERLYINGS": "SOL",  # one base coin: one REST request a try
            "TRACKER_REFRESH_MAX_RETRIES": "2",
            "TRACKER_REFRESH_RETRY_BACKOFF": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.process = ManagedProcess(
            sys.executable, "-m", "celery", "-A", "tracker_project", "worker",
            "-l", "info", "--concurrency", "1", "--without-gossip",
            "--without-mingle", "--without-heartbeat", env=self.env, log_path=self.log,
        )  # fmt: skip
        self.process.start()
        try:
            wait_for(lambda: "ready." in self.log_tail(), 60, self.log_tail)
        except TimeoutError:
            self.stop()
            raise

    def log_tail(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""

    def send(self, task: str, **kwargs) -> None:
        self.producer.send_task(f"feed.tasks.{task}", kwargs=kwargs, expires=60)

    def status(self) -> dict[str, str]:
        return store.read_refresh(self.redis, "bybit")

    def refresh(self, until=lambda status: status.get("state") == "ok") -> dict:
        """Send refresh_symbols and wait for a new outcome that satisfies `until`."""
        before = self.status()
        self.send("refresh_symbols", exchange="bybit")
        return wait_for(
            lambda: (s := self.status()) != before and until(s) and s,
            30,
            f"refresh outcome; worker log:\n{self.log_tail()}",
        )

    def contracts(self) -> dict[str, bool]:
        """symbol -> is_active, read from the worker's database file."""
        with sqlite3.connect(self.db_path, timeout=10) as db:
            rows = db.execute("SELECT symbol, is_active FROM options_optioncontract")
            return {symbol: bool(active) for symbol, active in rows}

    def active(self) -> set[str]:
        return {symbol for symbol, active in self.contracts().items() if active}

    def stop(self) -> None:
        self.process.stop()
        self.producer.close()


@pytest.fixture(scope="module")
def worker(tmp_path_factory, migrated_database):
    # The stack's Redis is the broker; its database, the worker's alone.
    stack = Stack(
        tmp_path_factory.mktemp("worker"), contracts=100, rate=50,
        simulator="thread", database=migrated_database,
    )  # fmt: skip
    try:
        worker = Worker(stack)
    except BaseException:
        stack.close()
        raise
    yield worker
    worker.stop()
    stack.close()


@pytest.fixture
def universe_messages(worker):
    """The universe channel, subscribed before the test acts."""
    pubsub = worker.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    wait_for(lambda: worker.redis.pubsub_numsub(CHANNEL)[0][1] >= 1, 5, "subscribed")

    def received(timeout: float = 5.0) -> list[str]:
        """Every message published so far, waiting up to `timeout` for the first."""
        found, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)  # None also for ignored ones
            if message is not None:
                found.append(message["data"])
            elif found:
                break
        return found

    yield received
    pubsub.close()


def listed(sim: Simulator) -> set[str]:
    """The SOL symbols that the simulator's REST listing names now."""
    url = f"{sim.rest_url}/v5/market/instruments-info"
    params = {"category": "option", "baseCoin": "SOL", "limit": 1000}
    items = httpx.get(url, params=params, timeout=10).json()["result"]["list"]
    return {item["symbol"] for item in items}


def list_new(sim: Simulator, strikes: str) -> list[str]:
    """List SOL calls and puts of a far expiry at the simulator; their symbols."""
    expiry = (date.today() + timedelta(days=400)).isoformat()
    return sim.control("list", base="SOL", expiry=expiry, strikes=strikes)["listed"]


def test_a_refresh_brings_the_listing_into_the_database(worker, universe_messages):
    # The worker's database starts empty: the first refresh seeds SOL and syncs it.
    status = worker.refresh()
    assert worker.active() and worker.active() == listed(worker.sim)
    assert "0 unchanged" in status["last_report"] and status["failures"] == "0"
    assert universe_messages() == ["refresh"]

    # A contract listed since then arrives with the next refresh.
    new = list_new(worker.sim, "500")
    worker.refresh()
    assert set(new) <= worker.active()
    assert universe_messages() == ["refresh"]

    # Nothing changed: nothing to tell the feed.
    worker.refresh()
    assert universe_messages(timeout=1) == []


def test_delisted_and_expired_contracts_go_inactive(worker, universe_messages):
    gone = list_new(worker.sim, "505")
    worker.refresh()
    assert universe_messages() == ["refresh"]

    # Delisted at the exchange: the refresh deactivates them.
    worker.sim.control("expire", symbols=",".join(gone))
    worker.refresh()
    assert not set(gone) & worker.active()
    assert universe_messages() == ["refresh"]

    # Past its expiry while still listed: roll_off_expired deactivates it...
    victim = sorted(worker.active())[0]
    with sqlite3.connect(worker.db_path, timeout=10) as db:
        db.execute(
            "UPDATE options_optioncontract SET expiry = '2020-01-03 08:00:00' "
            "WHERE symbol = ?",
            [victim],
        )
    worker.send("roll_off_expired", exchange="bybit")
    assert universe_messages(timeout=15) == ["expiry"]
    assert worker.contracts()[victim] is False


class DeliveringListing:
    """Bybit's listing just after 08:00 UTC: an expired contract still `Delivering`."""

    def fetch(self, base_coin: str) -> list[Instrument]:
        return [instrument("SOL-3JAN20-150-C-USDT", status="Delivering")]

    def close(self) -> None:
        pass


@pytest.mark.django_db
def test_a_refresh_keeps_a_delivering_contract_rolled_off(
    settings, redis_url, monkeypatch
):
    settings.REDIS_URL, settings.TRACKER_UNDERLYINGS = redis_url, ["SOL"]
    monkeypatch.setattr(Bybit, "listing", lambda self, **options: DeliveringListing())
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)

    # The refresh that the task runs in its child process, here in-process so that
    # the listing can be replaced.
    locked_refresh(client, "bybit")
    contract = OptionContract.objects.get()
    assert not contract.is_active  # listed, but past its expiry

    # The next refresh reactivates it from the listing and rolls it off again: no
    # change for the feed, so no message beyond the first refresh's.
    locked_refresh(client, "bybit")
    contract.refresh_from_db()
    assert not contract.is_active
    messages = [pubsub.get_message(timeout=0.5) for _ in range(4)]
    assert [m["data"] for m in messages if m] == ["refresh"]
    pubsub.close()
    client.close()


def test_a_failing_refresh_leaves_the_universe_and_records_the_error(worker):
    before = worker.contracts()
    new = list_new(worker.sim, "510")
    # Every try fails: the first attempt and both retries (max_retries=2).
    worker.sim.control("fail", mode="malformed", count=3)

    status = worker.refresh(until=lambda s: s.get("failures") == "3")

    assert status["state"] == "failed"
    assert "not JSON" in status["last_error"] and status["last_error_ts"]
    assert worker.contracts() == before  # untouched: neither added nor deactivated
    assert not set(new) & set(worker.contracts())
    assert "RefreshFailed" in worker.log_tail()


def test_a_retry_after_a_failure_completes_the_refresh(worker):
    new = list_new(worker.sim, "515")
    worker.sim.control("fail", mode="malformed", count=1)

    status = worker.refresh()

    # The first attempt failed (recorded), the retry succeeded.
    assert "not JSON" in status["last_error"]
    assert int(status["last_ok_ts"]) > int(status["last_error_ts"])
    assert status["failures"] == "0"
    assert set(new) <= worker.active()


def test_a_refresh_skips_while_another_holds_the_lock(worker):
    new = list_new(worker.sim, "520")
    lock = worker.redis.lock(keys.refresh_lock("bybit"), timeout=60)
    assert lock.acquire(blocking=False)
    try:
        status = worker.refresh(until=lambda s: "last_skip_ts" in s)
        assert not set(new) & set(worker.contracts())  # nothing ran
        assert "another refresh holds the lock" in worker.log_tail()
    finally:
        lock.release()

    worker.refresh()
    assert set(new) <= worker.active()
    assert int(worker.status()["last_run_ts"]) > int(status["last_skip_ts"])


@pytest.mark.django_db
def test_the_migration_schedules_every_task_with_an_expiry():
    tasks = {t.name: t for t in PeriodicTask.objects.all()}

    assert tasks["refresh symbols every 15 minutes"].interval.every == 15
    daily = tasks["refresh symbols after the 08:00 UTC listing"].crontab
    assert (daily.minute, daily.hour, str(daily.timezone)) == ("1", "8", "UTC")
    roll = tasks["roll off expired contracts"]
    assert roll.task == "feed.tasks.roll_off_expired"
    assert (roll.crontab.minute, roll.crontab.hour) == ("*/5", "*")
    for task in tasks.values():
        # The alert rules' sync serves every exchange; the feed's tasks take one.
        exchange = "{}" if task.task.startswith("alerts.") else '{"exchange": "bybit"}'
        assert task.enabled and task.kwargs == exchange, task.name
        assert 0 < task.expire_seconds <= 600, task.name


# Notifications (feed.tasks.send_notification), to local receivers ---------------


def test_the_notification_task_delivers_to_each_destination(worker):
    with Receiver() as first, Receiver() as second:
        worker.producer.send_task(
            "feed.tasks.send_notification", expires=60,
            args=["Rule fired", "BTC mark above 100", [first.url, second.url]],
        )  # fmt: skip
        for receiver in (first, second):
            assert receiver.wait_for_titles(bool, 30) == ["Rule fired"]


def test_the_notification_task_retries_until_the_receiver_is_back(worker):
    receiver = Receiver()  # nothing listens yet
    worker.producer.send_task(
        "feed.tasks.send_notification", expires=60,
        args=["Feed stale", "since 12:00:00 UTC", [receiver.url]],
    )  # fmt: skip
    failed = f"'Feed stale' to json://127.0.0.1:{receiver.port}/ failed"
    # Two failed tries (the second 1 s after the first), then the service is back.
    wait_for(lambda: worker.log_tail().count(failed) >= 2, 30, worker.log_tail)
    with receiver:
        assert receiver.wait_for_titles(bool, 30) == ["Feed stale"]
