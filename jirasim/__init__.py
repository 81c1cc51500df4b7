"""jirasim: a local stand-in for Jira Cloud's Operations API and Jira's side of Connect.

It is the oracle the portal is checked against, so it never imports the portal's code
(``connect``, ``incidents``, ``portal``) and needs no Django. See docs/jirasim.md.
"""

from jirasim.errors import SimulatorError
from jirasim.faults import Faults
from jirasim.simulator import DEFAULT_SITE, LifecycleResult, Simulator

__all__ = ["DEFAULT_SITE", "Faults", "LifecycleResult", "Simulator", "SimulatorError"]
