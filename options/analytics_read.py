"""Analytics of the latest state, read through the read model (options.read) and
computed by the pure functions of options.analytics, options.gex and options.term.

The API, the dashboard and the minute samples (options.samples) all get their
numbers here, as the dicts whose keys docs/analytics.md lists.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from options import read
from options.analytics import (
    FIELDS,
    ExpiryAnalytics,
    Totals,
    expiry_analytics,
    strikes_analytics,
)
from options.gex import DEFAULT_CONVENTION, combined_gex, gex_dict
from options.rows import Expiry
from options.term import TermPoint, constant_maturities, days_to


@dataclass(frozen=True, slots=True)
class UnderlyingAnalytics:
    exchange: str
    base: str
    convention: str
    at_ms: int
    expiries: Sequence[tuple[Expiry, ExpiryAnalytics]]

    def term_structure(self) -> list[TermPoint]:
        return [
            TermPoint(e.expiry, days_to(e.expires_ms, self.at_ms), found.atm_iv)
            for e, found in self.expiries
        ]

    def constant_maturity(self) -> dict[str, float | None]:
        return constant_maturities(self.term_structure())

    def as_dict(self) -> dict:
        """Every expiry (without its GEX by strike), the term structure, the
        constant-maturity IVs and the totals over every expiry."""
        term = self.term_structure()
        return {
            "exchange": self.exchange,
            "base": self.base,
            "convention": self.convention,
            "at_ms": self.at_ms,
            "expiries": [found.as_dict(False) for _, found in self.expiries],
            "term_structure": [
                {"expiry": p.expiry, "days": round(p.days, 4), "atm_iv": p.atm_iv}
                for p in term
            ],
            "constant_maturity": constant_maturities(term),
            "totals": self.totals(),
        }

    def totals(self) -> dict:
        """PCRs and GEX over every expiry; the zero-gamma crossing is picked
        nearest the forward of the soonest expiry that has one."""
        sums = Totals()
        for _, found in self.expiries:
            sums.merge(found.totals)
        profile = combined_gex((f.gex for _, f in self.expiries), self.convention)
        fwd = next((f.forward for _, f in self.expiries if f.forward), None)
        return {
            "pcr_oi": sums.pcr_oi,
            "pcr_volume": sums.pcr_volume,
            **gex_dict(profile, fwd),
        }


async def read_analytics(
    exchange: str, base: str, convention: str = DEFAULT_CONVENTION
) -> UnderlyingAnalytics:
    """Every expiry of a base; NotFound names an unknown exchange or base."""
    expiries = await read.read_quotes(exchange, base)
    found = [(e, strikes_analytics(e.expiry, s, convention)) for e, s in expiries]
    return UnderlyingAnalytics(exchange, base, convention, read.now_ms(), found)


async def read_expiry_analytics(
    exchange: str, base: str, expiry: str, convention: str = DEFAULT_CONVENTION
) -> dict:
    """One expiry, with its GEX by strike and its days to expiry."""
    chain = await read.read_chain(exchange, base, expiry, fields=FIELDS)
    expiries = await read.read_expiries(exchange, base)
    expires_ms = next((e.expires_ms for e in expiries if e.expiry == expiry), None)
    now = read.now_ms()
    days = None if expires_ms is None else round(days_to(expires_ms, now), 4)
    out = {"exchange": exchange, "base": base, "at_ms": now, "days": days}
    return {**out, **expiry_analytics(chain, convention).as_dict()}
