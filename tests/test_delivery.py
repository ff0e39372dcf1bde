"""alerts.delivery: notifications reach a real local HTTP receiver through apprise
(`json://` URLs), off the caller's path, retried while the receiver is down, and
secrets never reach the logs."""

import asyncio
import logging
import time

import pytest

from alerts.delivery import ChildSender, Notifier, send_in_thread
from alerts.destinations import DestinationError, redact_url, urls_from_env
from devtools.receiver import Receiver

FAST = {"backoff_s": 0.2, "backoff_cap_s": 0.5}


async def until(predicate, within: float) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def running():
    """running(notifier): its run() as a task, cancelled after the test."""
    tasks = []

    def start(notifier: Notifier) -> Notifier:
        tasks.append(asyncio.create_task(notifier.run()))
        return notifier

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("sender", [ChildSender, lambda: send_in_thread])
async def test_it_delivers_a_message_to_the_receiver(receiver, running, sender):
    notifier = running(Notifier([receiver.url], sender=sender()))
    assert notifier.submit("Feed stale", "no message for 31 s") is True
    await until(lambda: notifier.sent == 1, 20)
    (message,) = receiver.received
    assert (message["title"], message["message"]) == (
        "Feed stale",
        "no message for 31 s",
    )
    assert (notifier.failed, notifier.dropped) == (0, 0)


async def test_one_delivery_process_serves_an_incident_then_exits(receiver, running):
    sender = ChildSender(linger_s=2)
    notifier = running(Notifier([receiver.url], sender=sender))
    notifier.submit("Feed stale", "")
    await until(lambda: notifier.sent == 1, 20)
    child = sender.child
    notifier.submit("Feed stale - resolved", "")
    await until(lambda: notifier.sent == 2, 20)
    assert sender.child is child  # the second message needed no new process
    await until(lambda: child.returncode is not None, 20)
    assert child.returncode == 0  # idle for 2 s: gone, and its memory with it
    notifier.submit("Redis unreachable", "")
    await until(lambda: notifier.sent == 3, 20)
    assert receiver.titles() == [
        "Feed stale",
        "Feed stale - resolved",
        "Redis unreachable",
    ]


async def test_warming_starts_the_delivery_process_before_the_message(
    receiver, running
):
    sender = ChildSender()
    notifier = running(Notifier([receiver.url], sender=sender))
    notifier.warm()
    notifier.warm()  # already warming: nothing more
    await until(lambda: sender.child is not None, 20)
    child = sender.child
    notifier.submit("Feed stale", "")
    await until(lambda: notifier.sent == 1, 20)
    assert sender.child is child


async def test_it_delivers_after_the_receiver_was_down_for_a_while(running, caplog):
    receiver = Receiver()  # its port is known, nothing listens yet
    notifier = running(Notifier([receiver.url], retry_window_s=60, **FAST))
    notifier.submit("Redis unreachable", "since 12:00:00")
    await until(lambda: notifier.retried >= 3, 30)
    # Attempts failed and are being retried: nothing given up, nothing sent.
    assert (notifier.sent, notifier.failed) == (0, 0)
    assert "retry in" in caplog.text
    with receiver:
        await until(lambda: notifier.sent == 1, 20)
        assert receiver.titles() == ["Redis unreachable"]
    assert notifier.failed == 0


async def test_it_gives_up_after_the_retry_window_and_logs_no_secret(running, caplog):
    caplog.set_level(logging.INFO)
    url = f"json://alice:s3cr3t-pass@127.0.0.1:{Receiver().port}/hook?token=t0k3n"
    notifier = running(Notifier([url], retry_window_s=1.5, **FAST))
    notifier.submit("Feed stale", "body")
    await until(lambda: notifier.failed == 1, 20)
    assert notifier.sent == 0
    assert "not delivered" in caplog.text
    assert "127.0.0.1" in caplog.text
    for secret in ("alice", "s3cr3t-pass", "t0k3n", "hook"):
        assert secret not in caplog.text


async def test_apprise_lines_quoting_a_url_never_reach_the_logs(running, caplog):
    caplog.set_level(logging.DEBUG)
    # In this process (a worker thread), where apprise's logger would reach ours.
    notifier = running(
        Notifier(["nosuchservice://s3cr3t-t0ken/x"], sender=send_in_thread)
    )
    notifier.submit("Feed stale", "body")
    await until(lambda: notifier.failed == 1, 20)
    assert "apprise does not accept this URL" in caplog.text
    assert "s3cr3t" not in caplog.text


async def test_a_url_apprise_refuses_is_not_retried(receiver, running):
    notifier = running(Notifier(["nosuchservice://x/y", receiver.url], **FAST))
    notifier.submit("Feed stale", "body")
    await until(lambda: notifier.sent + notifier.failed == 2, 20)
    assert (notifier.sent, notifier.failed) == (1, 1)
    assert receiver.titles() == ["Feed stale"]


async def test_a_message_can_go_to_its_own_destinations(running):
    with Receiver() as default, Receiver() as own:
        notifier = running(Notifier([default.url]))
        notifier.submit(
            "Rule fired", "BTC-27MAR26-70000-P-USDT mark above 100", [own.url]
        )
        await until(lambda: notifier.sent == 1, 20)
        assert (default.titles(), own.titles()) == ([], ["Rule fired"])


def test_submit_never_blocks_and_counts_what_a_full_queue_drops():
    notifier = Notifier(["json://127.0.0.1:9/"], queue_size=2)
    # Nothing runs the notifier: the queue fills up.
    assert [notifier.submit(f"m{i}", "") for i in range(4)] == [
        True,
        True,
        False,
        False,
    ]
    assert notifier.dropped == 2


def test_nothing_is_queued_without_destinations():
    notifier = Notifier([])
    assert notifier.submit("Feed stale", "") is False
    assert notifier.dropped == 0


def test_destinations_come_from_notify_urls_and_telegram():
    env = {
        "NOTIFY_URLS": " json://127.0.0.1:9/ , ,slack://a/b/c",
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "TELEGRAM_CHAT_ID": "-100",
    }
    assert urls_from_env(env) == [
        "json://127.0.0.1:9/", "slack://a/b/c", "tgram://123:ABC/-100",
    ]  # fmt: skip
    assert urls_from_env({}) == []


def test_half_a_telegram_configuration_is_refused():
    with pytest.raises(DestinationError, match="TELEGRAM_CHAT_ID"):
        urls_from_env({"TELEGRAM_BOT_TOKEN": "123:ABC"})


def test_a_malformed_url_is_refused_without_showing_its_secret():
    with pytest.raises(DestinationError) as refused:
        urls_from_env({"NOTIFY_URLS": "hooks.example/s3cret"})
    assert "s3cret" not in str(refused.value)


def test_logs_show_a_url_without_its_secrets():
    assert redact_url("tgram://123:ABCDEF/-100") == "tgram://***/***"
    assert redact_url("json://u:p@127.0.0.1:8080/x?y=z") == "json://127.0.0.1:8080/***"
    assert redact_url("json://127.0.0.1:8080") == "json://127.0.0.1:8080/"
    assert redact_url("json://127.0.0.1:8080/") == "json://127.0.0.1:8080/"
