"""The platform simulator: ``python -m socialaudit.simulator`` serves the demo trust on loopback."""

from socialaudit.simulator.server import Simulator

__all__ = ["Simulator"]
