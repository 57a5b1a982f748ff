"""placement: a constraint-solving relocation planner for people leaving criminal networks.

The library owns the whole flow: scenario -> geography -> threats -> model -> solve -> plan ->
check. ``cli.py`` at the repository root is only a thin front over it.
"""

from __future__ import annotations

__version__ = "0.1.0"
