"""A Bybit v5 option exchange on localhost: REST, option WebSocket and a control API.

The exchange for the demo, the tests and the benchmarks: `python -m simulator`, or
`SimulatorServer` in a running event loop. It imports nothing from the tracker (no
Django, no `options`, no `feed`): it plays the exchange, wire format included, and
it is left out of the production image.
"""

from .config import Switches
from .market import Market
from .server import WS_PATH, SimulatorServer

__all__ = ["WS_PATH", "Market", "SimulatorServer", "Switches"]
