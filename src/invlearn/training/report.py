"""Reports of finished runs: a Markdown file with PNG plots (optional extra ``plot``).

For each run: the learned range of every transform per epoch (with the true invariance of the data set drawn
in), AugNet's candidate weights per epoch, and the test accuracy per epoch; several runs share the plots so
their trajectories can be compared.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from invlearn.data.transformed import TRUE_RANGES
from invlearn.training.config import ConfigError
from invlearn.training.run import read_config

#: The transform whose range is known to be right for each generated data set: (report key suffix, upper
#: bound, unit); real images get theirs from ``data.transform`` (:data:`invlearn.data.transformed.TRUE_RANGES`).
TRUTH = {"sprites": ("rotate", math.pi / 4, "rad"), "sinusoids": ("frequency_shift", 0.5, "Hz")}
TRANSFORM_TRUTH = {
    "rotate": ("rotate", TRUE_RANGES["rotate"], "rad"),
    "translate": ("translate_x", TRUE_RANGES["translate"], "fraction of the size (x and y alike)"),
    "scale": ("scale", TRUE_RANGES["scale"], "log of the zoom factor"),
}


#: What the papers and their code report for each shipped experiment (ARCHITECTURE.md), for the report table.
PUBLISHED = {
    "sprites-augnet": "rotation +-45 to 48 deg (0.79-0.84 rad) from epoch 4, weight 0.97 (published code, this CPU)",
    "sprites-augerino": "rotation +-47 to 61 deg over epochs 2-16; accuracy 0.997 with 4 copies (published code)",
    "sinusoids-augnet": "frequency shift 0.236 (truth 0.25); accuracy 1.00 from epoch 29 (published code)",
    "cifar10-augnet": "accuracy 93.2-93.3 %",
    "cifar10-augerino": "accuracy 91.6-91.7 %",
    "cifar10-fixed": "accuracy 93.6 % (flip + crop)",
    "cifar10-none": "accuracy 86.6 %",
}


def truth(config: dict) -> tuple[str, float, str] | None:
    """The known-right invariance of a run's data, or ``None`` where the data does not define one (sleep EEG,
    untransformed real images)."""
    data = config["data"]
    if data["name"] in TRUTH:
        return TRUTH[data["name"]]
    return TRANSFORM_TRUTH.get(data.get("transform", "none"))


def _load(run_dir: Path) -> tuple[dict, dict]:
    path = run_dir / "metrics.json"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        epochs = metrics["epochs"]
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror}); has the run finished?") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: not an invlearn metrics file ({error})") from None
    if not epochs:
        raise ConfigError(f"{path}: no epochs recorded")
    return read_config(run_dir), metrics


def truth_span(report: dict, name: str) -> dict | None:
    """The learned range of transform ``name`` from a run's ``learned_invariances``: ``{"low", "high", "unit",
    "weights"}``, ``None`` where nothing learns it. Stacked AugNet layers compose, so their ranges add up (the
    widest draw is every layer drawing ``name`` at its bound; right for rotations, shifts and log-zooms) and
    ``weights`` lists each layer's weight of ``name``."""
    entries = [entry for key, entry in report.items() if key == name or key.endswith(f".{name}")]
    if not entries:
        return None
    return {
        "low": sum(entry["low"] for entry in entries),
        "high": sum(entry["high"] for entry in entries),
        "unit": entries[0]["unit"],
        "weights": [entry["weight"] for entry in entries if entry["weight"] is not None],
    }


def _plot(runs: list[tuple[str, dict, dict]], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    known = truth(runs[0][1])
    truth_name = known[0] if known else None
    files = []
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.8), squeeze=False)
    for ax, (label, _, metrics) in zip(axes[0], runs, strict=True):
        epochs = [e["epoch"] + 1 for e in metrics["epochs"]]
        for key in metrics["epochs"][-1]["learned_invariances"]:
            highs = [e["learned_invariances"][key]["high"] for e in metrics["epochs"]]
            bold = truth_name is not None and key.endswith(truth_name)
            ax.plot(epochs, highs, marker="o", markersize=3, label=key, linewidth=2 if bold else 1)
        if known:
            ax.axhline(known[1], color="black", linestyle="--", label=f"truth: {known[0]} {known[1]:.3g} {known[2]}")
        ax.set(title=f"{label}: learned range (upper bound)", xlabel="epoch", ylabel="upper bound (unit of each)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "ranges.png", dpi=110)
    plt.close(fig)
    files.append("ranges.png")

    weighted = [(label, metrics) for label, config, metrics in runs if config["model"]["method"] == "augnet"]
    if weighted:
        fig, axes = plt.subplots(1, len(weighted), figsize=(5.5 * len(weighted), 3.5), squeeze=False)
        for ax, (label, metrics) in zip(axes[0], weighted, strict=True):
            epochs = [e["epoch"] + 1 for e in metrics["epochs"]]
            for key in metrics["epochs"][-1]["learned_invariances"]:
                ax.plot(epochs, [e["learned_invariances"][key]["weight"] for e in metrics["epochs"]], label=key)
            ax.set(title=f"{label}: candidate weights", xlabel="epoch", ylabel="weight", ylim=(-0.02, 1.02))
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out_dir / "weights.png", dpi=110)
        plt.close(fig)
        files.append("weights.png")

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for label, _, metrics in runs:
        ax.plot([e["epoch"] + 1 for e in metrics["epochs"]], [e["test_accuracy"] for e in metrics["epochs"]],
                marker="o", markersize=3, label=label)  # fmt: skip
    ax.set(title="test accuracy", xlabel="epoch", ylabel="accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "accuracy.png", dpi=110)
    plt.close(fig)
    files.append("accuracy.png")
    return files


def write_report(run_dirs: list[str | Path], out: str | Path | None = None) -> Path:
    """Write ``report.md`` and its plots for one or more finished runs of the same data set; returns the path.

    The default location is ``report.md`` inside the single run directory given.
    """
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise ConfigError("give at least one run directory")
    runs = [(d.name, *_load(d)) for d in dirs]
    data_names = {(config["data"]["name"], config["data"].get("transform", "none")) for _, config, _ in runs}
    if len(data_names) != 1:
        raise ConfigError(f"runs of different data sets cannot share a report: {sorted(data_names)}")
    if out is None:
        if len(dirs) != 1:
            raise ConfigError("several runs need --out FILE for their shared report")
        out = dirs[0] / "report.md"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = _plot(runs, out.parent)
    data_name, transform = data_names.pop()
    known = truth(runs[0][1])
    described = f"{data_name}, {transform} at random" if transform != "none" else data_name
    truth_line = f"True invariance: {known[0]} within +-{known[1]:.4g} {known[2]}." if known else "No known truth."
    lines = [f"# Report: {', '.join(label for label, _, _ in runs)}", ""]
    lines += [
        f"Data: {described}. {truth_line}",
        "",
        "| run | method | epochs | test accuracy | balanced accuracy | learned range of the true transform "
        "| its weight per layer | train s/epoch | eval s/epoch | published (ARCHITECTURE.md) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, config, metrics in runs:
        final = metrics["final"]
        report = final["learned_invariances"]
        entry = truth_span(report, known[0]) if known else None
        span = f"[{entry['low']:.3f}, {entry['high']:.3f}] {entry['unit']}" if entry else "not learned"
        span = span if known else "no known truth"
        balanced = final.get("balanced_accuracy")
        balanced = "" if balanced is None else f"{balanced:.4f}"
        weight = " / ".join(f"{w:.3f}" for w in entry["weights"]) if entry else ""
        seconds = sum(e["seconds"] for e in metrics["epochs"]) / len(metrics["epochs"])
        eval_seconds = sum(e.get("eval_seconds", 0.0) for e in metrics["epochs"]) / len(metrics["epochs"])
        lines.append(
            f"| {label} | {config['model']['method']} | {final['epochs']} | {final['test_accuracy']:.4f} | "
            f"{balanced} | {span} | {weight} | {seconds:.1f} | {eval_seconds:.1f} | "
            f"{PUBLISHED.get(config['experiment'], '')} |"
        )
    lines += [""] + [f"![{name[:-4]}]({name})" for name in figures] + [""]
    for label, _, metrics in runs:
        header = "| transform | weight | magnitude | low | high | unit |"
        lines += [f"## {label}: final learned invariances", "", header, "|---|---|---|---|---|---|"]
        for key, entry in metrics["final"]["learned_invariances"].items():
            weight = "" if entry["weight"] is None else f"{entry['weight']:.3f}"
            magnitude = "" if entry["magnitude"] is None else f"{entry['magnitude']:.3f}"
            lines.append(
                f"| {key} | {weight} | {magnitude} | {entry['low']:.4f} | {entry['high']:.4f} | {entry['unit']} |"
            )
        lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")
    return out
