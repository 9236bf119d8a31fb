"""Benchmark: how long ``sentrial-otel --help`` takes to start, against its floor.

The floor is ``python -c "import click, opentelemetry.sdk.trace"``: the command line library
and the tracing SDK, which the command needs anyway. Everything else it imports at start
(the engine, protobuf, the exporters) is what this measures; the goal is a ratio of at most
1.2. Each round runs the two once, in an order swapped every round, so a slow spell of this
shared machine hits both; the ratio is taken within the round, and the table gives the
min / median / max over the rounds.

Usage::

    python benchmarks/bench_cli_start.py [--runs 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import REPO, emit, fmt, fmt_quartiles, spread, versions  # noqa: I001 - sets sys.path first

CLI = (
    "import sys; sys.argv = ['sentrial-otel', '--help']\n"
    "from sentrial_otel.cli import main\n"
    "main()\n"
)
FLOOR = "import click, opentelemetry.sdk.trace"
# Which of our modules and of the heavy dependencies the command loads to print its help.
LOADED = (
    "import contextlib, io, sys\n"
    "from sentrial_otel.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n"
    "        main(['--help'])\n"
    "    except SystemExit:\n"
    "        pass\n"
    "heavy = ('sentrial', 'google.protobuf', 'opentelemetry.proto', 'opentelemetry.exporter', 'rich')\n"
    "print('\\n'.join(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _seconds(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def run(runs: int) -> dict:
    env = _env()
    _seconds(CLI, env), _seconds(FLOOR, env)  # warm the file system cache and .pyc files
    cli, floor, ratios = [], [], []
    for index in range(runs):
        order = [("cli", CLI), ("floor", FLOOR)]
        if index % 2:
            order.reverse()
        measured = {label: _seconds(code, env) for label, code in order}
        cli.append(measured["cli"])
        floor.append(measured["floor"])
        ratios.append(measured["cli"] / measured["floor"])
    loaded = subprocess.run([sys.executable, "-c", LOADED], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
    result = {
        "runs": runs,
        "goal": "ratio <= 1.2",
        "cli_s": spread(cli),
        "floor_s": spread(floor),
        "ratio": spread(ratios),
        "modules_loaded": loaded,
        "versions": versions(("click",)),
    }
    print(
        f"sentrial-otel --help  s {fmt(result['cli_s'], digits=3)}  floor s {fmt(result['floor_s'], digits=3)}"
        f"  ratio {fmt(result['ratio'])}  (q1 – q3 {fmt_quartiles(result['ratio'])})",
        flush=True,
    )
    print(f"loaded besides click and the SDK: {', '.join(loaded)}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", help="write the JSON result here")
    args = parser.parse_args(argv)
    result = run(args.runs)
    emit("cli_start", result, args.out)
    return result


if __name__ == "__main__":
    main()
