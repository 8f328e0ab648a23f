"""Percentiles for the benchmarks' reports."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def compare(name: str, measured: list[float], base_name: str, base: list[float]
            ) -> dict[str, float]:
    """p50/p95 of two paired series and the ratios of `measured` over `base`."""
    return {
        "n": len(measured),
        f"{name}_p50_ms": percentile(measured, 50), f"{name}_p95_ms": percentile(measured, 95),
        f"{base_name}_p50_ms": percentile(base, 50), f"{base_name}_p95_ms": percentile(base, 95),
        "ratio_of_p50": percentile(measured, 50) / percentile(base, 50),
        "ratio_of_p95": percentile(measured, 95) / percentile(base, 95),
        "median_ratio": statistics.median(m / b for m, b in zip(measured, base, strict=True)),
        "total_ratio": sum(measured) / sum(base),
    }
