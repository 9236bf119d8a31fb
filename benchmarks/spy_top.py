"""Top functions of a py-spy raw profile, by inclusive and by own share of the samples.

Usage::

    py-spy record -r 1000 -f raw -o facade-tool.txt -- \\
        python benchmarks/bench_events.py --vs-util --loop facade:tool:25
    python benchmarks/spy_top.py facade-tool.txt --under UtilBench.facade [--top 40]

``--under NAME`` keeps the samples whose stack holds a frame of function NAME (the measured
calls, not the set-up or an idle thread); each share is of those samples. A function's
frames count once per sample however often it recurses; line numbers are folded.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_LINE = re.compile(r":\d+\)$")


def top(path: str, under: str | None) -> tuple[int, Counter[str], Counter[str]]:
    """(samples kept, samples per function anywhere in the stack, samples per leaf)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    kept = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
            if under is not None and not any(frame.startswith(under + " ") for frame in frames):
                continue
            kept += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
            own[frames[-1]] += int(count)
    return kept, inclusive, own


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="py-spy record -f raw output")
    parser.add_argument("--under", help="keep samples under this function (e.g. UtilBench.facade)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    kept, inclusive, own = top(args.profile, args.under)
    if not kept:
        raise SystemExit("no samples kept")
    print(f"{kept} samples")
    for title, counts in (("inclusive", inclusive), ("own", own)):
        print(f"--- {title}")
        for frame, count in counts.most_common(args.top):
            print(f"{count / kept * 100:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
