"""What the benchmarks share: time two things in alternation, and judge the ratio of their medians.

Alternating the peer and smtplab run for run means a burst of machine noise
hits both alike; the median of each then drops the runs it spoiled.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable


def alternate(
    peer: Callable[[], float], ours: Callable[[], float], runs: int, warm_ups: int = 3
) -> tuple[float, float]:
    """Median seconds of ``peer`` and of ``ours`` (each returns the seconds one run took), run in turn."""
    for _ in range(warm_ups):  # imports, byte-code, caches: the state a second run finds
        ours()
        peer()
    peer_times, our_times = [], []
    for _ in range(runs):
        peer_times.append(peer())
        our_times.append(ours())
    return statistics.median(peer_times), statistics.median(our_times)


def verdict(ratio: float, target: float, *, at_most: bool = True) -> int:
    """Print the ratio against its target; the exit status (0 when it is met)."""
    met = ratio <= target if at_most else ratio >= target
    bound = "at most" if at_most else "at least"
    print(f"ratio: {ratio:.2f}x (target {bound} {target:.1f}x) -> {'PASS' if met else 'FAIL'}")
    return 0 if met else 1
