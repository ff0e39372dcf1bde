"""The minute samples of the analytics (options.samples writes and reads them): one
row per underlying per HISTORY_INTERVAL, kept HISTORY_RETENTION seconds.

Its own module, imported by options.models, so that the feed process (which loads
options.models) imports nothing more than Django's ORM for it.
"""

from django.db import models


class AnalyticsSample(models.Model):
    """Constant-maturity ATM IVs (fractions; null outside the listed expiries) and
    each expiry's RR25 and BF25 as `[{"expiry", "rr25", "bf25"}]`."""

    exchange = models.CharField(max_length=32)
    base = models.CharField(max_length=16)
    at = models.DateTimeField()
    cm_7 = models.FloatField(null=True)
    cm_30 = models.FloatField(null=True)
    cm_60 = models.FloatField(null=True)
    cm_90 = models.FloatField(null=True)
    expiries = models.JSONField(default=list)

    class Meta:
        app_label = "options"
        ordering = ["exchange", "base", "at"]
        indexes = [
            models.Index(fields=["exchange", "base", "at"], name="sample_under_at"),
            models.Index(fields=["at"], name="sample_at"),  # the trim
        ]

    def __str__(self) -> str:
        return f"{self.exchange} {self.base} {self.at:%Y-%m-%d %H:%M}"
