"""Reports of finished runs: a Markdown file with PNG plots (optional extra ``plot``).

For each run: the learned range of every transform per epoch (with the true invariance of the data set drawn
in), AugNet's candidate weights per epoch, and the test accuracy per epoch; several runs share the plots so
their trajectories can be compared.
"""

from __future__ import annotations

from pathlib import Path

from invlearn.data import registry
from invlearn.metrics.identification import Truth, recovered
from invlearn.training.config import ConfigError
from invlearn.training.evaluation import headline
from invlearn.training.published import PUBLISHED
from invlearn.training.rundir import check_folder_can_hold, read_config, read_metrics, write_atomic

#: First line of every report this module writes: an existing ``--out`` file is only overwritten if it starts so.
TITLE = "# Report: "


def truth(config: dict) -> Truth | None:
    """The known-right invariance of a run's data (:func:`invlearn.data.registry.truth`), or ``None`` where the
    data does not define one (sleep EEG, untransformed real images)."""
    data = config["data"]
    return registry.truth(data["name"], data.get("transform", "none"), data.get("transform_range"))


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


def _score_names(runs: list[tuple[str, dict, dict]]) -> list[str]:
    """The test scores the runs lead with (``test accuracy``, ``test mae``...), each once."""
    return sorted({headline(metrics["final"])[0].replace("_", " ") for _, _, metrics in runs})


def _plot(runs: list[tuple[str, dict, dict]], out_dir: Path, stem: str) -> list[str]:
    """Write the plots beside the report, named after it (``<stem>-ranges.png``...), so a comparison report
    placed in a run's folder leaves that run's own plots alone; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    known = truth(runs[0][1])
    truth_name = known.names[0] if known else None
    files = []
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.8), squeeze=False)
    for ax, (label, _, metrics) in zip(axes[0], runs, strict=True):
        epochs = [e["epoch"] + 1 for e in metrics["epochs"]]
        if known:
            truth_name = known.matching(metrics["final"]["learned_invariances"]).names[0]
        for key in metrics["epochs"][-1]["learned_invariances"]:
            highs = [e["learned_invariances"][key]["high"] for e in metrics["epochs"]]
            bold = truth_name is not None and key.endswith(truth_name)
            ax.plot(epochs, highs, marker="o", markersize=3, label=key, linewidth=2 if bold else 1)
        if known:
            label = f"truth: {truth_name} {known.half_range:.3g} {known.unit}"
            ax.axhline(known.half_range, color="black", linestyle="--", label=label)
        ax.set(title=f"{label}: learned range (upper bound)", xlabel="epoch", ylabel="upper bound (unit of each)")
        if ax.get_legend_handles_labels()[0]:  # a run without augmentation draws no line
            ax.legend(fontsize=7)
    fig.tight_layout()
    files.append(_save(fig, out_dir, f"{stem}-ranges.png"))

    weighted = [
        (label, metrics)
        for label, _, metrics in runs
        if any(entry["weight"] is not None for entry in metrics["epochs"][-1]["learned_invariances"].values())
    ]
    if weighted:
        fig, axes = plt.subplots(1, len(weighted), figsize=(5.5 * len(weighted), 3.5), squeeze=False)
        for ax, (label, metrics) in zip(axes[0], weighted, strict=True):
            epochs = [e["epoch"] + 1 for e in metrics["epochs"]]
            for key in metrics["epochs"][-1]["learned_invariances"]:
                ax.plot(epochs, [e["learned_invariances"][key]["weight"] for e in metrics["epochs"]], label=key)
            ax.set(title=f"{label}: candidate weights", xlabel="epoch", ylabel="weight", ylim=(-0.02, 1.02))
            ax.legend(fontsize=7)
        fig.tight_layout()
        files.append(_save(fig, out_dir, f"{stem}-weights.png"))

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for label, _, metrics in runs:
        scored = [e for e in metrics["epochs"] if headline(e)[1] is not None]  # trainer.eval_every_n_epochs
        ax.plot([e["epoch"] + 1 for e in scored], [headline(e)[1] for e in scored], marker="o", markersize=3,
                label=label)  # fmt: skip
    ax.set(title=" / ".join(_score_names(runs)), xlabel="epoch", ylabel="test score")
    ax.legend(fontsize=8)
    fig.tight_layout()
    files.append(_save(fig, out_dir, f"{stem}-score.png"))
    return files


def _save(fig, out_dir: Path, name: str) -> str:
    import matplotlib.pyplot as plt

    write_atomic(out_dir / name, lambda temporary: fig.savefig(temporary, dpi=110, format="png"))
    plt.close(fig)
    return name


def _check_out(out: Path) -> None:
    """Refuse a report path whose folder cannot be made or written, or that names a file this module did not
    write."""
    check_folder_can_hold(out.parent, "--out")
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; give a file name such as {out / 'report.md'}")
    if out.exists():
        try:
            first = out.read_text(encoding="utf-8").split("\n", 1)[0]
        except (OSError, UnicodeDecodeError):
            first = ""
        if not first.startswith(TITLE):
            raise ConfigError(f"--out {out}: exists and is not an invlearn report; remove it or pick another name")


def write_report(run_dirs: list[str | Path], out: str | Path | None = None) -> Path:
    """Write ``report.md`` and its plots for one or more finished runs of the same data set; returns the path.

    The default location is ``report.md`` inside the single run directory given.
    """
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise ConfigError("give at least one run directory")
    names = [d.name for d in dirs]
    if len(set(names)) < len(names):  # e.g. seed0 of several methods: label each by its parent folder too
        names = [f"{d.parent.name}/{d.name}" for d in dirs]
    runs = [(name, read_config(d), read_metrics(d)) for name, d in zip(names, dirs, strict=True)]
    data_names = {(config["data"]["name"], config["data"].get("transform", "none")) for _, config, _ in runs}
    if len(data_names) != 1:
        raise ConfigError(f"runs of different data sets cannot share a report: {sorted(data_names)}")
    if out is None:
        if len(dirs) != 1:
            raise ConfigError("several runs need --out FILE for their shared report")
        out = dirs[0] / "report.md"
    out = Path(out)
    _check_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot write ({error.strerror})") from None
    try:
        figures = _plot(runs, out.parent, out.stem)
    except OSError as error:  # a folder that takes no files (/proc), a full disk
        raise ConfigError(f"--out {out}: cannot write ({error.strerror})") from None
    data_name, transform = data_names.pop()
    known = truth(runs[0][1])
    described = f"{data_name}, {transform} at random" if transform != "none" else data_name
    names = " and ".join(known.names) if known else ""
    truth_line = "No known truth."
    if known and known.half_range == 0:
        truth_line = f"True invariance: none to {names} (a learned range of at most {known.at_most:g} {known.unit})."
    elif known:
        truth_line = f"True invariance: {names} within +-{known.half_range:.4g} {known.unit}."
    lines = [f"{TITLE}{', '.join(label for label, _, _ in runs)}", ""]
    lines += [
        f"Data: {described}. {truth_line}",
        "",
        f"| run | method | epochs | {' / '.join(_score_names(runs))} | balanced accuracy "
        "| learned range of the true transform "
        "| its weight per layer | recovered | train s/epoch | of which marglik | eval s/epoch | published |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, config, metrics in runs:
        final = metrics["final"]
        report = final["learned_invariances"]
        published = PUBLISHED.get(config["experiment"])
        entry = truth_span(report, known.matching(report).names[0]) if known else None
        span = f"[{entry['low']:.3f}, {entry['high']:.3f}] {entry['unit']}" if entry else "not learned"
        span = span if known else "no known truth"
        balanced = final.get("balanced_accuracy")
        balanced = "" if balanced is None else f"{balanced:.4f}"
        weight = " / ".join(f"{w:.3f}" for w in entry["weights"]) if entry else ""
        found = ("yes" if recovered(report, known) else "no") if known else ""
        seconds = sum(e["seconds"] for e in metrics["epochs"]) / len(metrics["epochs"])
        hyper_seconds = sum(e.get("hyper_seconds", 0.0) for e in metrics["epochs"]) / len(metrics["epochs"])
        eval_seconds = sum(e.get("eval_seconds", 0.0) for e in metrics["epochs"]) / len(metrics["epochs"])
        method = config["model"]["method"]
        if method not in ("none", "fixed"):
            method += f" ({config['model']['objective']})"
        lines.append(
            f"| {label} | {method} | {final['epochs']} | {headline(final)[1]:.4f} | "
            f"{balanced} | {span} | {weight} | {found} | {seconds:.1f} | {hyper_seconds:.1f} | {eval_seconds:.1f} | "
            f"{published.cite() if published else ''} |"
        )
    lines += [""] + [f"![{name[:-4]}]({name})" for name in figures] + [""]
    for label, _, metrics in runs:
        held = metrics["final"].get("held_out")
        if held:
            lines += [
                f"{label}: its objective kept {held['examples']} training examples ({held['fraction']:g} of the "
                f"training set) from the weights, which trained on {held['weights_trained_on']}.",
                "",
            ]
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
    text = "\n".join(lines)
    try:
        write_atomic(out, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot write ({error.strerror})") from None
    return out
