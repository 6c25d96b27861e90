"""Count nx.pagerank's iterations, which it does not report."""

from __future__ import annotations


class CountingFloat(float):
    """nx.pagerank multiplies by alpha once per iteration: pass alpha as this and
    `multiplications` counts the iterations."""

    multiplications = 0

    def __mul__(self, other):
        type(self).multiplications += 1
        return float(self) * other
