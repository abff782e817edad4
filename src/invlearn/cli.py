"""The ``invlearn`` command line.

Errors in the arguments, configs or files, and a missing optional dependency, print one line to stderr and exit
with code 2, having written nothing. A run that starts and diverges prints one line and exits with code 1, keeping
its last good checkpoint. Ctrl-C prints one line saying what was kept and the command that resumes, and exits
with code 130. Progress goes to stderr; the final result is one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from invlearn import __version__, augmentations

#: Benchmark suites and the optional modules each one imports.
BENCH_SUITES = {"ops": ("kornia", "torchdiffeq"), "learners": (), "objectives": ("lightning", "yaml")}


class UsageError(Exception):
    """A user error: reported as one line on stderr, exit code 2."""


class Failure(Exception):
    """A run that started and failed: reported as one line on stderr, exit code 1."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _copies(text: str) -> int:
    from invlearn._validation import MAX_COPIES

    value = _positive_int(text)
    if value > MAX_COPIES:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COPIES} (each copy is one more forward pass)")
    return value


def _require(modules: tuple[str, ...], extra: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"missing optional dependencies {missing}: pip install 'invlearn[{extra}]'")


def _check_output_file(path: str | None, flag: str) -> None:
    """Refuse an output file whose folder does not exist or is a file, or that is itself a folder."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a folder, not a file")
    if not target.parent.is_dir():
        raise UsageError(f"{flag} {path}: no such folder {target.parent}")


def _bench(args: argparse.Namespace) -> int:
    _require(BENCH_SUITES[args.suite], "bench")
    _check_output_file(args.output, "--output")
    args.repeats = args.repeats or {"ops": 30, "learners": 20, "objectives": 3}[args.suite]
    if args.suite != "objectives" and (args.study or args.epochs):
        raise UsageError("--study and --epochs apply to the objectives suite")
    if args.suite == "ops":
        if args.only:
            unknown = sorted(set(args.only) - set(augmentations.available()))
            if unknown:
                raise UsageError(f"--only: unknown augmentation names {unknown}")
        from invlearn.bench import ops as suite

        report = suite.run(repeats=args.repeats, names=args.only)
    elif args.only:
        raise UsageError("--only applies to the ops suite")
    elif args.suite == "learners":
        from invlearn.bench import learners as suite

        report = suite.run(repeats=args.repeats)
    else:
        from invlearn.bench import objectives as suite
        from invlearn.training import config

        try:
            report = suite.run(args.study or suite.DEMO_STUDY, args.epochs, args.repeats)
        except config.ConfigError as error:
            raise UsageError(str(error)) from None
    text = json.dumps(report, indent=2)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--output {args.output}: cannot write ({error.strerror})") from None
    print(text)
    return 0


def _load_config(args: argparse.Namespace) -> dict:
    _require(("lightning", "yaml"), "train")
    from invlearn.training import config, run

    try:
        if args.resume:
            if args.config or args.set:
                raise config.ConfigError("--resume takes the run's own config.yaml; give no CONFIG or --set")
            return run.read_config(args.resume)
        if not args.config:
            raise config.ConfigError("give a CONFIG.yaml (or --resume RUN_DIR)")
        return config.load(args.config, args.set or [])
    except config.ConfigError as error:
        raise UsageError(str(error)) from None


def _train(args: argparse.Namespace) -> int:
    resolved = _load_config(args)
    from invlearn.training import config, progress, run, rundir

    out = args.resume or args.out or str(Path("runs") / resolved["experiment"])
    try:
        metrics = run.train(resolved, out, resume=bool(args.resume))
    except config.ConfigError as error:
        raise UsageError(str(error)) from None
    except run.RunFailed as error:
        raise Failure(str(error)) from None
    final = metrics["final"]
    learned = final["learned_invariances"]
    report = Path(out) / rundir.REPORT
    summary = {
        "run": out,
        final["score"]: final[final["score"]],
        "epochs": final["epochs"],
        "learned": [progress.describe(key, entry) for key, entry in learned.items()],
        "report": str(report) if report.is_file() else None,
    }
    if not run.is_launched_worker():  # a DDP run's other processes re-run this command: one summary
        print(json.dumps(summary))
    return 0


def _eval(args: argparse.Namespace) -> int:
    _require(("lightning", "yaml"), "train")
    from invlearn.training import config, run

    try:
        result = run.evaluate(args.run_dir, n_copies=args.copies)
    except config.ConfigError as error:
        raise UsageError(str(error)) from None
    print(json.dumps(result, indent=2))
    return 0


def _policy(args: argparse.Namespace) -> int:
    _require(("lightning", "yaml"), "train")
    from invlearn.studies import compute
    from invlearn.training import config

    try:
        policy = compute.searched_policy(args.run_dir)
    except config.ConfigError as error:
        raise UsageError(str(error)) from None
    print(json.dumps(policy))
    return 0


def _report(args: argparse.Namespace) -> int:
    _require(("lightning", "yaml", "matplotlib"), "train,plot")
    from invlearn.training import config, report

    try:
        path = report.write_report(args.run_dirs, args.out)
    except config.ConfigError as error:
        raise UsageError(str(error)) from None
    print(path)
    return 0


def _study(args: argparse.Namespace) -> int:
    _require(("lightning", "yaml"), "train")
    from invlearn.studies import compute, identification, registry
    from invlearn.training import config, run

    try:
        spec = registry.load_study(args.study)
        if spec.get("kind") == "compute" and not args.tasks:
            spec = compute.select(spec, args.methods)
        elif args.tasks or args.methods:
            if spec.get("kind") != "identification":
                raise config.ConfigError(
                    "--tasks and --methods select a part of an identification study (--methods: of a compute study)"
                )
            spec = identification.select(spec, args.tasks, args.methods)
        out = args.out or str(Path("runs") / spec["study"])
        result = registry.run_study(spec, out, args.jobs, args.table_only)
    except config.ConfigError as error:
        raise UsageError(str(error)) from None
    except run.RunFailed as error:
        raise Failure(str(error)) from None
    print(json.dumps(result["medians"], indent=2))
    return 0


def _evidence(args: argparse.Namespace) -> int:
    _require(("lightning", "yaml"), "train")
    from invlearn.studies import evidence
    from invlearn.training import config, run

    try:
        magnitudes = evidence.magnitude_list(args.magnitudes)
        seeds = [int(seed) for seed in args.seeds.split(",")]
        hold = json.loads(args.hold)
    except ValueError as error:
        raise UsageError(f"--magnitudes, --seeds or --hold: {error}") from None
    try:
        runs = evidence.run_configs(
            args.config, args.candidate, magnitudes, seeds, args.set or [], hold, args.scale, args.fraction
        )
        out = args.out or str(Path("runs") / "evidence" / args.candidate)
        result = evidence.run(runs, out, args.candidate, args.batch, args.copies, args.examples, args.jobs, args.scale)
    except config.ConfigError as error:
        raise UsageError(str(error)) from None
    except run.RunFailed as error:
        raise Failure(str(error)) from None
    picks = {name: {k: s[k] for k in ("best", "widest_within_spread")} for name, s in result["scores"].items()}
    print(json.dumps({"out": out, "true_magnitude": result["true_magnitude"], **picks}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``invlearn`` command and its options (the command-line reference is generated from it)."""
    parser = argparse.ArgumentParser(prog="invlearn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"invlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="time a benchmark suite and print JSON")
    bench.add_argument("suite", choices=sorted(BENCH_SUITES))
    bench.add_argument(
        "--repeats",
        type=_positive_int,
        help="timed repetitions per row (default: 30 for ops, 20 for learners, 3 for objectives)",
    )
    bench.add_argument("--only", nargs="+", metavar="NAME", help="time only these augmentations")
    bench.add_argument("--output", metavar="FILE", help="also write the JSON to FILE")
    bench.add_argument("--study", metavar="STUDY.yaml", help="objectives: the study whose runs are timed")
    bench.add_argument("--epochs", type=_positive_int, help="objectives: train every run this many epochs")
    bench.set_defaults(handler=_bench)

    train = commands.add_parser("train", help="train a model from a YAML config into a run directory")
    train.add_argument("config", nargs="?", metavar="CONFIG.yaml")
    train.add_argument("--out", metavar="DIR", help="run directory (default: runs/<experiment>)")
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("eval", help="test score of a run's last checkpoint")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--copies", type=_copies, help="test-time copies (default: the config's)")
    evaluate.set_defaults(handler=_eval)

    policy = commands.add_parser(
        "policy", help="the searched policy of a DADA search run, as JSON for --set model.policy=..."
    )
    policy.add_argument("run_dir", metavar="RUN_DIR")
    policy.set_defaults(handler=_policy)

    report = commands.add_parser("report", help="write report.md with plots for one or more finished runs")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    report.add_argument("--out", metavar="FILE", help="report path (default: RUN_DIR/report.md for one run)")
    report.set_defaults(handler=_report)

    grid = commands.add_parser("study", help="run a study grid (sizes x methods x seeds) and tabulate it")
    grid.add_argument("study", metavar="STUDY.yaml")
    grid.add_argument("--out", metavar="DIR", help="study directory (default: runs/<study>)")
    grid.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="runs trained at a time (identification and compute studies)",
    )
    grid.add_argument("--tasks", nargs="+", metavar="TASK", help="train and tabulate only these tasks (identification)")
    grid.add_argument("--methods", nargs="+", metavar="METHOD", help="only these methods (identification, compute)")
    grid.add_argument(
        "--table-only",
        action="store_true",
        help="train nothing: tabulate the runs already finished under --out (the others are left out)",
    )
    grid.set_defaults(handler=_study)

    curves = commands.add_parser(
        "evidence", help="score fixed ranges of one candidate with every objective (evidence curves, JSON and PNG)"
    )
    curves.add_argument("config", metavar="CONFIG.yaml")
    curves.add_argument("--candidate", required=True, metavar="NAME", help="catalogue name, e.g. rotate")
    curves.add_argument("--magnitudes", required=True, metavar="M,M,...", help="its strengths, in [0, 1]")
    curves.add_argument("--scale", type=float, help="the candidate's scale (default: its catalogue default)")
    curves.add_argument("--seeds", default="0,1,2", metavar="S,S,...", help="default 0,1,2")
    curves.add_argument("--out", metavar="DIR", help="default runs/evidence/<candidate>")
    curves.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    curves.add_argument("--hold", default="[]", metavar="JSON", help="candidates held beside it at their strengths")
    curves.add_argument("--fraction", type=float, default=0.2, help="training set held out from the weights")
    curves.add_argument("--batch", type=_positive_int, default=250, help="examples per estimate")
    curves.add_argument("--copies", type=_copies, default=8, help="augmented copies per example")
    curves.add_argument("--examples", type=_positive_int, help="score only the first EXAMPLES of each part")
    curves.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="runs trained at a time")
    curves.set_defaults(handler=_evidence)
    return parser


def _interrupted(args: argparse.Namespace, argv: list[str], error: KeyboardInterrupt) -> str:
    """What Ctrl-C stopped, and the command that picks up from there."""
    if args.command == "train" and hasattr(error, "run_dir"):  # stopped in training (run.Interrupted)
        return f"{error}: resume with  invlearn train --resume {error.run_dir}" if error.run_dir else str(error)
    if args.command in ("study", "evidence"):
        return (
            "interrupted; finished runs are kept and stopped ones resume from their last checkpoint: rerun  "
            f"invlearn {shlex.join(argv)}"
        )
    return "interrupted"


#: The most characters of an error message printed: messages bound the values they quote; this bounds what any
#: message can print, whatever it quotes.
MAX_MESSAGE = 2000


def _bounded(error: Exception) -> str:
    message = str(error)
    return message if len(message) <= MAX_MESSAGE else f"{message[:MAX_MESSAGE]}... ({len(message):,} characters)"


def main(argv: list[str] | None = None) -> int:
    """Run one ``invlearn`` command: ``argv`` as on the command line (default: ``sys.argv[1:]``); returns the exit
    code (0 done, 1 a run that failed, 2 bad arguments, configs or files, 130 interrupted; see the module)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt as error:  # Ctrl-C: one line, no traceback, and how to go on
        print(f"\ninvlearn: {_interrupted(args, argv, error)}", file=sys.stderr)
        return 130
    except UsageError as error:
        print(f"invlearn: error: {_bounded(error)}", file=sys.stderr)
        return 2
    except Failure as error:
        print(f"invlearn: failed: {_bounded(error)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of stdout went away (`invlearn eval RUN | head`): nothing to report
        sys.stderr.close()
        return 0
