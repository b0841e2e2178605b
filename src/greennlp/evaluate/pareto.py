"""The accuracy-against-cost Pareto frontier (pure functions).

A model is on the frontier for a cost axis when no other model is at least as accurate
and at most as costly, and strictly better on one of the two.

>>> pareto_front([0.80, 0.84, 0.79, 0.84], [10.0, 40.0, 20.0, 30.0])
[True, False, False, True]
"""

from __future__ import annotations

from typing import Sequence


def dominates(acc_a: float, cost_a: float, acc_b: float, cost_b: float) -> bool:
    """True when model a is at least as good as b on both axes and better on one."""
    return acc_a >= acc_b and cost_a <= cost_b and (acc_a > acc_b or cost_a < cost_b)


def pareto_front(accuracy: Sequence[float], cost: Sequence[float | None]) -> list[bool]:
    """Which points are on the frontier (higher accuracy and lower cost are better).

    Points without a cost (None) are never on the frontier and dominate nothing.
    """
    points = list(zip(accuracy, cost))
    front = []
    for i, (acc, c) in enumerate(points):
        if c is None:
            front.append(False)
            continue
        front.append(not any(j != i and cj is not None and dominates(aj, cj, acc, c)
                             for j, (aj, cj) in enumerate(points)))
    return front
