"""The secret pre-test on payloads of several shapes and lengths.

Every captured payload goes through ``redaction.may_need_secret_redaction`` (is there any
chance of a secret in this text?) before it may skip the redacting walk. This times it
against one pass per hint word (what it does on short text, and did on all text before),
in the same run, on prose in a JSON message, plain prose, hyphen-dense prose and a
key-dense JSON object.

Usage::

    python benchmarks/bench_pretest.py [--rounds 7] [--chars 1100,4000,16000]
"""

from __future__ import annotations

import argparse
import json
import timeit

from _common import emit, fmt, spread, versions  # noqa: I001 - sets sys.path first

from bench_events import prose
from sentrial_otel._internal.content.secrets import _SECRET_JSON_HINTS, _passes, may_need_secret_redaction


def one_pass_per_word(text: str) -> bool:
    return _passes(text.lower(), _SECRET_JSON_HINTS)


def shapes(chars: int) -> dict[str, str]:
    text = prose(chars)
    return {
        "json message": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": text}]}]),
        "plain prose": text,
        "hyphenated prose": ("state-of-the-art, well-known follow-up " * (chars // 38 + 1))[:chars],
        "key-dense json": json.dumps({f"field_{i}": i for i in range(chars // 18)}),
    }


def run(rounds: int, sizes: list[int]) -> dict:
    results: dict[str, dict] = {}
    for chars in sizes:
        for shape, text in shapes(chars).items():
            assert may_need_secret_redaction(text) == one_pass_per_word(text)
            number = max(20, 400_000 // len(text))
            timings: dict[str, list[float]] = {"pre_test_us": [], "per_word_us": []}
            for _ in range(rounds):  # the two alternate within each round
                for label, test in (("pre_test_us", may_need_secret_redaction),
                                    ("per_word_us", one_pass_per_word)):
                    seconds = timeit.timeit(lambda test=test: test(text), number=number)
                    timings[label].append(seconds / number * 1e6)
            key = f"{shape} {len(text)}"
            results[key] = {label: spread(values) for label, values in timings.items()}
            print(f"{key:26} pre-test µs {fmt(results[key]['pre_test_us'])}   "
                  f"one pass per word µs {fmt(results[key]['per_word_us'])}", flush=True)
    return {"rounds": rounds, "results": results, "versions": versions()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--chars", default="1100,4000,16000",
                        help="comma-separated text lengths")
    parser.add_argument("--out", help="write the JSON result here")
    args = parser.parse_args(argv)
    result = run(args.rounds, [int(n) for n in args.chars.split(",")])
    emit("pretest", result, args.out)
    return result


if __name__ == "__main__":
    main()
