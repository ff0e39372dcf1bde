"""Run-time switches of the simulator: constructor keywords and `/sim/config` params.

Every behaviour the reference marks as unconfirmed is a switch here, so tests can run
against either answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

CHOICES = {
    "unknown_topic_mode": ("strict", "silent"),
    "limit_mode": ("fail", "close"),
    "unsub_ack": ("option", "linear"),
}
MINIMUM = {"batch": 1, "step_ms": 1, "delta_ratio": 0}  # others: not negative
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(slots=True)
class Switches:
    rate: float = 5000.0  # ticker frames/s over all topics of all connections; 0 = max
    unknown_topic_mode: str = "strict"  # strict: failTopics; silent: acked, no data
    idle_timeout_s: float = (
        600.0  # close a socket after this long without a client frame
    )
    max_topics: int = 2000  # per connection
    max_args_chars: int = 21000  # per connection: sum of subscribed topic lengths
    limit_mode: str = "fail"  # over a limit: fail: excess in failTopics; close: close
    unsub_ack: str = "option"  # option: COMMAND_RESP; linear: {"op":"unsubscribe",...}
    emit_deltas: bool = (
        False  # sometimes push type "delta" with the changed fields only
    )
    delta_ratio: float = 0.2  # share of pushes sent as deltas when emit_deltas is on
    rest_rate_limit: int = 0  # REST requests per 5 s before HTTP 403; 0 = unlimited
    step_ms: int = 100  # market step: spots move and a share of contracts reprice
    batch: int = 500  # frames per socket write when rate is 0

    def update(self, values: dict[str, str | float | int | bool]) -> None:
        """Set switches from keywords or query strings; ValueError names bad ones."""
        known = {f.name: f for f in fields(self)}
        for name, raw in values.items():
            if name not in known:
                raise ValueError(f"unknown switch {name!r}; known: {', '.join(known)}")
            setattr(self, name, _coerce(name, type(getattr(self, name)), raw))

    def as_dict(self) -> dict:
        return asdict(self)


def _coerce(name: str, kind: type, raw: str | float | int | bool) -> object:
    if kind is bool:
        text = str(raw).lower()
        if text not in _TRUE + _FALSE:
            raise ValueError(f"{name} must be 0 or 1, got {raw!r}")
        return text in _TRUE
    if kind in (int, float):
        try:
            value = kind(float(raw)) if kind is int else float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {raw!r}") from None
        if value < MINIMUM.get(name, 0):
            raise ValueError(f"{name} must be at least {MINIMUM.get(name, 0)}")
        return value
    text = str(raw)
    if name in CHOICES and text not in CHOICES[name]:
        raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}")
    return text
