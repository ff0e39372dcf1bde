"""`manage.py refresh_symbols`: the scheduled refresh, run now.

It takes the Celery task's path (feed.refresh.locked_refresh): the refresh lock, the
sync, the roll-off, the record in Redis, and a message that a running `run_feed`
acts on within a second.
"""

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from feed.refresh import FAILED_EXIT, RefreshFailed, locked_refresh
from options import clients
from options.universe import SyncReport

LOCK_WAIT_S = 60.0  # a refresh takes seconds; a longer hold is a stuck or banned one


class Command(BaseCommand):
    help = "Fetch the option listing of each enabled underlying and sync the universe."
    requires_system_checks = []  # runs in the feed-only process (TRACKER_FEED_ONLY=1)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--exchange", default="bybit")
        parser.add_argument(
            "--underlyings",
            help="comma-separated base coins, e.g. BTC,ETH (default: all enabled)",
        )
        parser.add_argument(
            "--unless-fresh", type=float, metavar="SECONDS",
            help="scheduled use (run_feed --refresh-minutes): skip when a refresh "
            "succeeded this recently or another refresh holds the lock",
        )  # fmt: skip
        parser.add_argument(
            "--lock-wait", type=float, default=LOCK_WAIT_S, metavar="SECONDS",
            help="wait this long for another refresh to end (default: %(default)s)",
        )  # fmt: skip

    def handle(self, *args, exchange: str, underlyings: str | None, **options) -> None:
        bases = underlyings.split(",") if underlyings else None
        client = clients.sync_client()
        try:
            if options["unless_fresh"] is not None:
                return self.scheduled(client, exchange, bases, options["unless_fresh"])
            report = self.refresh(client, exchange, bases, options["lock_wait"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except RedisError as exc:
            raise CommandError(
                f"Redis does not answer ({exc}): a refresh takes its lock and tells "
                "the feed through it, so nothing was changed"
            ) from None
        finally:
            client.close()
        self.print_report(report, options["verbosity"])
        if report.failed and not report.bases:
            raise CommandError(f"every base coin failed: {report}")
        if not report.bases and not report.failed:
            self.stderr.write(f"no enabled underlying of {exchange} to refresh")

    def refresh(self, client, exchange: str, bases, wait_s: float) -> SyncReport:
        """The report, also when some coin failed (that coin's contracts stay)."""
        try:
            report = locked_refresh(client, exchange, bases, wait_s=wait_s)
        except RefreshFailed as exc:
            return exc.report
        if report is None:
            raise CommandError(
                f"another {exchange} refresh held the lock for {wait_s:g} s, so "
                "nothing was done; try again once it has ended"
            )
        return report

    def scheduled(self, client, exchange: str, bases, fresh_for_s: float) -> None:
        try:
            report = locked_refresh(client, exchange, bases, fresh_for_s=fresh_for_s)
        except RefreshFailed as exc:
            # Its own status, so that the Celery task (feed.tasks) retries it.
            raise CommandError(
                f"refresh failed: {exc}", returncode=FAILED_EXIT
            ) from None
        self.stdout.write("skipped: fresh or locked" if report is None else str(report))

    def print_report(self, report: SyncReport, verbosity: int) -> None:
        self.stdout.write(str(report))
        if verbosity >= 2:
            for label in ("added", "reactivated", "deactivated", "updated"):
                for symbol in getattr(report, label):
                    self.stdout.write(f"  {label}: {symbol}")
