"""What drf-spectacular shows for the analytics endpoints (api.analytics): plain
serializers describing options.analytics_read's dicts. Every number is a JSON
number in the store's units (IVs as fractions), null when it cannot be computed.
"""

from rest_framework import serializers

from options.gex import CONVENTIONS
from options.term import CONSTANT_MATURITIES


def number(help_text: str = "") -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class StrikeGexSerializer(serializers.Serializer):
    strike = serializers.FloatField()
    gex = number("USD per 1 % move; null when no contract has gamma, OI, underlying")


class LargestGexSerializer(StrikeGexSerializer):
    gex = serializers.FloatField()


class GexSerializer(serializers.Serializer):
    gex_total = number("sum of gex_by_strike")
    zero_gamma = number("strike where cumulative GEX crosses zero (docs/analytics.md)")
    largest_positive = LargestGexSerializer(allow_null=True)
    largest_negative = LargestGexSerializer(allow_null=True)
    convention = serializers.ChoiceField(choices=CONVENTIONS)


class ExpirySummarySerializer(GexSerializer):
    expiry = serializers.DateField()
    forward = number("median of the contracts' underlying")
    atm_strike = number("listed strike nearest the forward")
    atm_iv = number("mean mark IV of the ATM call and put")
    call25_iv = number("call mark IV interpolated in delta at 0.25")
    put25_iv = number("put mark IV interpolated in delta at -0.25")
    rr25 = number("call25_iv - put25_iv")
    bf25 = number("(call25_iv + put25_iv) / 2 - atm_iv")
    pcr_oi = number("put OI / call OI")
    pcr_volume = number("put 24 h volume / call 24 h volume")
    max_pain = number()


class ExpiryAnalyticsSerializer(ExpirySummarySerializer):
    exchange = serializers.CharField()
    base = serializers.CharField()
    at_ms = serializers.IntegerField(help_text="when it was computed, ms since epoch")
    days = number("days to expiry")
    gex_by_strike = StrikeGexSerializer(many=True)


class TermPointSerializer(serializers.Serializer):
    expiry = serializers.DateField()
    days = serializers.FloatField()
    atm_iv = number()


ConstantMaturitySerializer = type(
    "ConstantMaturitySerializer",
    (serializers.Serializer,),
    {str(d): number(f"ATM IV at {d} days") for d in CONSTANT_MATURITIES},
)


class TotalsSerializer(GexSerializer):
    pcr_oi = number()
    pcr_volume = number()
    gex_by_strike = StrikeGexSerializer(many=True)


class UnderlyingAnalyticsSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    base = serializers.CharField()
    convention = serializers.ChoiceField(choices=CONVENTIONS)
    at_ms = serializers.IntegerField()
    expiries = ExpirySummarySerializer(many=True)
    term_structure = TermPointSerializer(many=True)
    constant_maturity = ConstantMaturitySerializer()
    totals = TotalsSerializer()


class SampleExpirySerializer(serializers.Serializer):
    expiry = serializers.DateField()
    rr25 = number()
    bf25 = number()


class SampleSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    constant_maturity = ConstantMaturitySerializer()
    expiries = SampleExpirySerializer(many=True)


class SamplesSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    base = serializers.CharField()
    interval_s = serializers.IntegerField()
    enabled = serializers.BooleanField(help_text="HISTORY_ENABLED")
    samples = SampleSerializer(many=True)
