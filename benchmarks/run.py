"""Run the benchmark suite: ``python benchmarks/run.py [--quick] [--out DIR] [NAME ...]``.

NAME is any of ``events``, ``pretest``, ``export``, ``dead_collector``, ``store_write``,
``lifecycle``, ``cli_start``, ``rollup`` (default: all).
``--quick`` uses tiny sizes (what the CI smoke test runs: it checks that each bench works,
never its timings). Each bench prints its figures and a JSON result (also written to
``DIR/<name>.json`` with ``--out``). ``benchmarks/bench_store.py`` (the 1M-span store) runs
on its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cli_start  # noqa: E402
import bench_dead_collector  # noqa: E402
import bench_events  # noqa: E402
import bench_export  # noqa: E402
import bench_lifecycle  # noqa: E402
import bench_pretest  # noqa: E402
import bench_rollup  # noqa: E402
import bench_store_write  # noqa: E402

FULL = {
    "events": (bench_events.main, ["--events", "500", "--rounds", "60"]),
    "pretest": (bench_pretest.main, ["--rounds", "7"]),
    "export": (bench_export.main, ["--spans", "20000", "--rounds", "5"]),
    "dead_collector": (bench_dead_collector.main, ["--sessions", "100000", "--rounds", "3"]),
    "store_write": (bench_store_write.main, ["--sessions", "100000", "--rounds", "3"]),
    "lifecycle": (bench_lifecycle.main, ["--rounds", "2"]),
    "cli_start": (bench_cli_start.main, ["--runs", "20"]),
    "rollup": (bench_rollup.main, ["--spans", "2000", "--rounds", "30"]),
}
QUICK = {
    "events": ["--events", "50", "--rounds", "2"],
    "pretest": ["--rounds", "1", "--chars", "1100"],
    "export": ["--spans", "200", "--rounds", "1"],
    "dead_collector": ["--sessions", "100", "--rounds", "1"],
    "store_write": ["--sessions", "100", "--rounds", "1"],
    "lifecycle": ["--open", "0,10", "--fault-open", "10", "--collectors", "healthy,refused",
                  "--completed", "5", "--budget", "0.5", "--samples", "20", "--memory-sessions", "100"],
    "cli_start": ["--runs", "2"],
    "rollup": ["--spans", "50", "--rounds", "2"],
}


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*FULL, []], default=[])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = {}
    for name in args.names or list(FULL):
        bench, full_args = FULL[name]
        bench_args = QUICK[name] if args.quick else full_args
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            bench_args = [*bench_args, "--out", str(args.out / f"{name}.json")]
        print(f"== {name} {' '.join(bench_args)}", flush=True)
        results[name] = bench(bench_args)
    return results


if __name__ == "__main__":
    main()
