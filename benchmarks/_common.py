"""Shared helpers for the benchmarks: import path, statistics, versions, result output."""

from __future__ import annotations

import json
import platform
import resource
import statistics
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (str(REPO / "src"), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def spread(values: Sequence[float]) -> dict[str, float]:
    """min / median / max of repeated measurements, and the quartiles (q1, q3)."""
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "q1": q1,
        "q3": q3,
    }


def fmt_quartiles(stats: dict[str, float], digits: int = 2) -> str:
    return f"{stats['q1']:.{digits}f} – {stats['q3']:.{digits}f}"


def fmt(stats: dict[str, float], unit: str = "", digits: int = 2) -> str:
    return " / ".join(f"{stats[k]:.{digits}f}{unit}" for k in ("min", "median", "max"))


def versions(packages: Iterable[str] = ()) -> dict[str, str]:
    """Python, platform and the versions of the packages a benchmark depends on."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http",
                 "opentelemetry-exporter-otlp-proto-grpc", *packages):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(name: str, result: dict, out: str | None) -> None:
    """Print the result as JSON (and write it to ``out`` when given)."""
    text = json.dumps({"bench": name, **result}, indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n")
