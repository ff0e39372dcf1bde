"""A Bybit v5 option exchange on localhost: REST, option WebSocket and a control API.

Used by `manage.py simulate_exchange`, the demo, tests and benchmarks. Import only
what is needed: nothing here touches Django settings or the database.
"""

from .config import Switches
from .market import Market
from .server import WS_PATH, SimulatorServer

__all__ = ["WS_PATH", "Market", "SimulatorServer", "Switches"]
