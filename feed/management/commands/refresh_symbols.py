from django.core.management.base import BaseCommand, CommandError

from feed.refresh import RefreshFailed, locked_refresh, refresh_universe
from options import clients


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
            help="scheduled use (run_feed --refresh-minutes): under the shared lock, "
            "skip when a refresh succeeded this recently; notify a running feed and "
            "record the outcome in Redis",
        )  # fmt: skip

    def handle(self, *args, exchange: str, underlyings: str | None, **options) -> None:
        bases = underlyings.split(",") if underlyings else None
        if options["unless_fresh"] is not None:
            return self.scheduled(exchange, bases, options["unless_fresh"])
        try:
            report = refresh_universe(exchange, bases)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(report))
        if options["verbosity"] >= 2:
            for label in ("added", "reactivated", "deactivated", "updated"):
                for symbol in getattr(report, label):
                    self.stdout.write(f"  {label}: {symbol}")
        if report.failed and not report.bases:
            raise CommandError(f"every base coin failed: {report}")
        if not report.bases:
            self.stderr.write(f"no enabled underlying of {exchange} to refresh")

    def scheduled(self, exchange: str, bases, fresh_for_s: float) -> None:
        client = clients.sync_client()
        try:
            report = locked_refresh(client, exchange, bases, fresh_for_s=fresh_for_s)
        except RefreshFailed as exc:
            raise CommandError(f"refresh failed: {exc}") from None
        finally:
            client.close()
        self.stdout.write("skipped: fresh or locked" if report is None else str(report))
