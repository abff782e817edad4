"""The ``invlearn`` command line.

Errors in the arguments or a missing optional dependency print one line to stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from invlearn import augmentations

#: Benchmark suites and the optional modules each one imports.
BENCH_SUITES = {"ops": ("kornia", "torchdiffeq"), "learners": ()}


class UsageError(Exception):
    """A user error: reported as one line on stderr, exit code 2."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _require(modules: tuple[str, ...], extra: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"missing optional dependencies {missing}: pip install 'invlearn[{extra}]'")


def _bench(args: argparse.Namespace) -> int:
    _require(BENCH_SUITES[args.suite], "bench")
    args.repeats = args.repeats or (30 if args.suite == "ops" else 20)
    if args.suite == "ops":
        if args.only:
            unknown = sorted(set(args.only) - set(augmentations.available()))
            if unknown:
                raise UsageError(f"--only: unknown augmentation names {unknown}")
        from invlearn.bench import ops as suite

        report = suite.run(repeats=args.repeats, names=args.only)
    else:
        if args.only:
            raise UsageError("--only applies to the ops suite")
        from invlearn.bench import learners as suite

        report = suite.run(repeats=args.repeats)
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invlearn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="time a benchmark suite and print JSON")
    bench.add_argument("suite", choices=sorted(BENCH_SUITES))
    bench.add_argument(
        "--repeats", type=_positive_int, help="timed repetitions per row (default: 30 for ops, 20 for learners)"
    )
    bench.add_argument("--only", nargs="+", metavar="NAME", help="time only these augmentations")
    bench.add_argument("--output", metavar="FILE", help="also write the JSON to FILE")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"invlearn: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
