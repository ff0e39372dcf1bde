from django.core.management.base import BaseCommand, CommandError

from feed.refresh import refresh_universe


class Command(BaseCommand):
    help = "Fetch the option listing of each enabled underlying and sync the universe."
    requires_system_checks = []  # runs in the feed-only process (TRACKER_FEED_ONLY=1)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--exchange", default="bybit")
        parser.add_argument(
            "--underlyings",
            help="comma-separated base coins, e.g. BTC,ETH (default: all enabled)",
        )

    def handle(self, *args, exchange: str, underlyings: str | None, **options) -> None:
        bases = underlyings.split(",") if underlyings else None
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
