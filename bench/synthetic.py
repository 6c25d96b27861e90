"""Synthetic power-law communities (re-exported from scoring.synthetic so the
installed package, the demo and the benchmarks all share one generator)."""

from scoring.synthetic import DEFAULT_NOW, power_law_community

__all__ = ["DEFAULT_NOW", "power_law_community"]
