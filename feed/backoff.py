"""Exponential backoff with full jitter, capped (the AWS architecture blog's scheme)."""

import random


def full_jitter(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """A delay drawn uniformly from [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2 ** min(attempt, 30)))
