"""Serializers: Meta-only ones for the models, plain ones describing Redis data.

The Redis-backed views format the read model's rows in api.chain and api.status; the
plain serializers here are what drf-spectacular shows for them (and the browsable
API's forms), so they list the store's field names from options.fields.
"""

from rest_framework import serializers

from options.fields import FIELDS
from options.models import OptionContract, Underlying
from options.symbols import format_strike

TIME_FIELDS = ("ts", "recv_ts")


class PlainDecimalField(serializers.DecimalField):
    """70000, not 70000.00000000: the listing's precision, as a string."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=24, decimal_places=8, **kwargs)

    def to_representation(self, value):
        return None if value is None else format_strike(value)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: DRF's own also takes 1, "yes", "on", "0"..."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class UnderlyingSerializer(serializers.ModelSerializer):
    enabled = StrictBooleanField(required=False)
    index_price = serializers.SerializerMethodField(
        help_text="the base's index (spot) price in Redis: the `index` of the contract "
        "of its nearest expiry that the feed updated last; null without one"
    )
    live_contracts = serializers.SerializerMethodField()
    expiries = serializers.SerializerMethodField()

    class Meta:
        model = Underlying
        fields = ["id", "exchange", "base_coin", "enabled", "index_price",
                  "live_contracts", "expiries", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["exchange", "base_coin", "created_at", "updated_at"]

    def get_index_price(self, obj) -> str | None:
        return self.context["index_prices"].get(obj.pk)

    def get_live_contracts(self, obj) -> int:
        return obj.live_contracts

    def get_expiries(self, obj) -> list[str]:
        return self.context["expiries"].get(obj.pk, [])


class ContractSerializer(serializers.ModelSerializer):
    base = serializers.CharField(source="underlying.base_coin", read_only=True)
    strike = PlainDecimalField(read_only=True)
    tick_size = PlainDecimalField(read_only=True, allow_null=True)

    class Meta:
        model = OptionContract
        fields = ["id", "exchange", "symbol", "base", "expiry", "strike",
                  "option_type", "settle_coin", "tick_size", "status", "is_active",
                  "first_seen", "last_seen"]  # fmt: skip


def _state_fields() -> dict:
    """symbol plus every store field, optional (the feed's profile may omit some)."""
    out = {"symbol": serializers.CharField()}
    for name in FIELDS:
        if name in TIME_FIELDS:
            out[name] = serializers.DateTimeField(required=False, allow_null=True)
        else:
            out[name] = serializers.CharField(
                required=False, allow_null=True,
                help_text="decimal string as the exchange sent it; null when what "
                "Redis holds is not a valid value of the field",
            )  # fmt: skip
    return out


ContractStateSerializer = type(
    "ContractStateSerializer", (serializers.Serializer,), _state_fields()
)


class TickSerializer(ContractStateSerializer):
    exchange = serializers.CharField()
    age_ms = serializers.IntegerField(
        allow_null=True, help_text="now minus recv_ts (or ts), in ms"
    )


class ChainRowSerializer(serializers.Serializer):
    strike = serializers.CharField()
    call = ContractStateSerializer(allow_null=True)
    put = ContractStateSerializer(allow_null=True)


class ChainSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    base = serializers.CharField()
    expiry = serializers.DateField()
    atm_strike = serializers.CharField(
        allow_null=True, help_text="strike closest to atm_price"
    )
    atm_price = serializers.CharField(
        allow_null=True, help_text="the chain's `underlying` price, else `index`"
    )
    rows = ChainRowSerializer(many=True)


class ExpirySerializer(serializers.Serializer):
    expiry = serializers.DateField()
    expires_at = serializers.DateTimeField()


class ExpiriesSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    base = serializers.CharField()
    expiries = ExpirySerializer(many=True)


class StrikesSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    base = serializers.CharField()
    expiry = serializers.DateField(allow_null=True)
    strikes = serializers.ListField(child=serializers.CharField())


class FeedStatusSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    state = serializers.CharField(
        allow_null=True, help_text="streaming, redis-down, stopped; null: never ran"
    )
    stale = serializers.BooleanField(
        help_text="no heartbeat for over 5 s, or a state other than streaming"
    )
    connections = serializers.IntegerField(allow_null=True)
    subscribed = serializers.IntegerField(allow_null=True)
    msgs_total = serializers.IntegerField(allow_null=True)
    msgs_per_s = serializers.FloatField(allow_null=True)
    malformed = serializers.IntegerField(allow_null=True)
    reconnects = serializers.IntegerField(allow_null=True)
    rejected_topics = serializers.IntegerField(allow_null=True)
    silent_topics = serializers.IntegerField(allow_null=True)
    invalid = serializers.IntegerField(
        allow_null=True, help_text="exchange values refused since the feed started"
    )
    invalid_fields = serializers.DictField(
        child=serializers.IntegerField(), help_text="the same, by store field"
    )
    last_msg_at = serializers.DateTimeField(allow_null=True)
    last_msg_age_ms = serializers.IntegerField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    heartbeat_age_ms = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    shards = serializers.ListField(
        child=serializers.DictField(),
        help_text="with several feeds side by side (run_feed --shard NAME), each "
        "one's status: `shard` (its name) and the fields above; the fields above "
        "are then the whole exchange's (stale when any shard is). Empty otherwise.",
    )
