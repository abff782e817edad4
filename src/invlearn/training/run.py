"""Training and evaluation runs: a run directory per experiment (files: :mod:`invlearn.training.rundir`).

``metrics.json``::

    {"final": {<score keys>, "score", "learned_invariances", "epochs",
               "identification": {"truth", "effective_ranges", "recovered"} or null where the data carry no truth,
               "train_seconds", "hyper_seconds"},
     "epochs": [{"epoch", "train_loss", <score keys>, "score", "learned_invariances", "seconds",
                 "hyper_seconds", "eval_seconds", "objective"}, ...],
     "wall_time_s": float,
     "diverged": {"step", "epoch", "message"}}      # only for a run stopped by a non-finite loss or weight

The score keys depend on the kind of task (:data:`invlearn.training.evaluation.SCORES`): ``test_accuracy`` and
``balanced_accuracy`` (the mean per-class recall, the sleep-staging metric) for a classification, ``test_mae``
for a regression, ``test_mean_iou`` and ``pixel_accuracy`` for a segmentation; ``score`` names the one that
leads. ``seconds`` is the epoch's
training time, of which ``hyper_seconds`` went to the objective's hyper-steps (the marginal likelihood's
updates of the augmentation; 0 for the reward objective); ``objective`` holds the objective's own learned values
(the marginal likelihood's prior precision); ``final`` sums both times over the epochs. ``eval_seconds`` is the
epoch's evaluation (batch-norm recalibration and the test set with every test-time
copy); with ``trainer.eval_every_n_epochs`` above 1, the epochs between two evaluations have ``null`` score keys
(the last epoch, whose score is ``final``'s, is always evaluated). Everything a run needs (data, model,
trainer) is built and checked before its directory is created, so a refused run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import shutil
import signal
import time
import warnings
from pathlib import Path

import torch

from invlearn.data import registry
from invlearn.data.files import DataError
from invlearn.data.split import Split
from invlearn.metrics import identification
from invlearn.training import evaluation, seeds
from invlearn.training.batches import TensorBatches
from invlearn.training.build import build_data, build_learner
from invlearn.training.config import ConfigError
from invlearn.training.rundir import (
    CHECKPOINT,
    CONFIG,
    METRICS,
    check_folder_can_hold,
    read_checkpoint,
    read_config,
    write_atomic,
    write_json,
    writing_into,
)
from invlearn.training.schema import objective_section_name


class RunFailed(RuntimeError):
    """A run that started and could not finish (it diverged): the message says why and what was kept."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (SIGINT) or SIGTERM: ``run_dir`` resumes from its last checkpoint (``None``: it
    was stopped before its first checkpoint, and its folder was removed)."""

    def __init__(self, run_dir: Path | None, epoch: int, step: int) -> None:
        kept = "the last checkpoint is kept" if run_dir else "nothing was kept (no checkpoint yet)"
        super().__init__(f"interrupted at epoch {epoch}, step {step}; {kept}")
        self.run_dir = run_dir


def is_launched_worker() -> bool:
    """True in the extra processes that Lightning's DDP launcher starts (they re-run the same command)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0


def _last_checkpoint_callback(path: Path, every_n_steps: int):
    """A callback that keeps one checkpoint, ``path``: every ``every_n_steps`` steps within an epoch and after
    each epoch's evaluation (so a killed run loses at most ``every_n_steps`` steps). An epoch's last step is
    saved only with its evaluation: a checkpoint between the two would resume past an evaluation never made.
    Each save goes to a temporary file that is then renamed onto ``path``, so a kill during a save leaves the
    previous checkpoint whole."""
    from lightning.pytorch.callbacks import Callback

    def save(trainer) -> None:
        trainer.lightning_module.check_weights()  # no checkpoint holds a non-finite weight
        if not trainer.is_global_zero:  # the save is collective: every process calls it, only the first writes
            trainer.save_checkpoint(path, weights_only=False)
            return
        write_atomic(path, lambda temporary: trainer.save_checkpoint(temporary, weights_only=False))

    class LastCheckpoint(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if trainer.global_step % every_n_steps == 0 and batch_idx + 1 < trainer.num_training_batches:
                save(trainer)

        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking:
                save(trainer)

    return LastCheckpoint()


def _csv_version(out: Path) -> str:
    """``csv`` for a new run, ``csv-1``, ``csv-2``... for each resumption: Lightning's CSV logger rewrites its
    file from what it logged itself, so a resumed segment in the same folder would drop the earlier rows."""
    segments = len(list((out / "logs").glob("csv*")))
    return "csv" if segments == 0 else f"csv-{segments}"


def _trainer(config: dict, out: Path):
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from invlearn.training.progress import Progress

    spec = config["trainer"]
    callbacks = [_last_checkpoint_callback(out / CHECKPOINT, spec["checkpoint_every_n_steps"])]
    if spec["progress_bar"]:
        callbacks.append(Progress())
    loggers = [
        CSVLogger(out, name="logs", version=_csv_version(out)),
        TensorBoardLogger(out, name="logs", version="tensorboard"),
    ]
    return L.Trainer(
        default_root_dir=out,
        max_epochs=spec["epochs"],
        accelerator=spec["accelerator"],
        devices=spec["devices"],
        strategy=spec["strategy"],
        deterministic=spec["deterministic"],
        enable_progress_bar=False,  # Progress reports on stderr instead
        enable_model_summary=False,
        enable_checkpointing=False,  # our own callback keeps checkpoints/last.ckpt
        num_sanity_val_steps=0,
        callbacks=callbacks,
        logger=loggers,
        use_distributed_sampler=False,
        log_every_n_steps=10,
    )


def _loaders(config: dict, data, held: Split | None, refit_from: int) -> tuple[TensorBatches, TensorBatches]:
    """The training batches (from epoch ``refit_from`` on, drawn from the training and the ``held`` examples
    together) and the test batches."""
    spec, seed = config["trainer"], config["seed"]
    if held is None or refit_from >= spec["epochs"]:
        train = TensorBatches(data.train.inputs, data.train.labels, spec["batch_size"], shuffle=True, seed=seed)
    else:
        inputs, labels = torch.cat([data.train.inputs, held.inputs]), torch.cat([data.train.labels, held.labels])
        train = TensorBatches(inputs, labels, spec["batch_size"], True, seed, len(data.train.labels), refit_from)
    test = TensorBatches(data.test.inputs, data.test.labels, spec["eval_batch_size"], shuffle=False)
    return train, test


def _check_out(out: Path, resume: bool) -> dict | None:
    """Refuse an output folder that cannot become this run's directory, before anything is built; returns the
    checkpoint a run resumes from."""
    if resume:
        return read_checkpoint(out)  # a missing, truncated or crafted checkpoint is refused here, in one line
    if not is_launched_worker() and ((out / CHECKPOINT).exists() or (out / METRICS).exists()):
        raise ConfigError(f"--out {out}: already holds a run; resume it with --resume {out} or pick another --out")
    check_folder_can_hold(out, "--out")
    return None


def _check_accelerator(config: dict) -> None:
    if config["trainer"]["accelerator"] == "gpu" and not torch.cuda.is_available():
        raise ConfigError("trainer.accelerator: gpu, but no GPU is available here (use cpu or auto)")


def _prepare(config: dict, out: Path, resume: bool):
    """Everything a run needs, built and checked while nothing is written: ``(data, task)``."""
    import lightning as L

    from invlearn.training.task import InvarianceTask

    _check_accelerator(config)
    checkpoint = _check_out(out, resume)
    L.seed_everything(config["seed"], workers=True, verbose=False)
    try:
        data = build_data(config)
    except DataError as error:
        raise ConfigError(str(error)) from None
    learner = _checked_learner(config, data)
    data, held = _hold_out(data, learner.objective, config, objective_section_name(config["model"]["objective"]))
    score = evaluation.SCORES[data.task](data.n_classes)
    task = InvarianceTask(config, learner, data.train.inputs, score, len(data.train.inputs))
    problem = None if checkpoint is None else task.checkpoint_problem(checkpoint)
    if problem:
        raise ConfigError(f"{out / CHECKPOINT}: cannot resume this run from it ({problem})")
    return data, held, task


def _hold_out(data, objective, config: dict, section: str):
    """``(data, held)``: the data whose training split the weights see (all of it, or what remains once the
    objective has taken its ``held_out_fraction``: a seeded random subset, e.g. DADA's half for its hypergradient),
    and the held-out split (``None`` where nothing is held out). A held-out part smaller than one of the objective's
    batches (its config ``section``'s ``batch_size``), or than the number of classes, is refused, and so is
    a ``refit`` that leaves no epoch to learn the augmentation in."""
    if objective.held_out_fraction == 0:
        return data, None
    seed, epochs = config["seed"], config["trainer"]["epochs"]
    if objective.refit_epochs(epochs) >= epochs:
        raise ConfigError(
            f"{section}.refit: {objective.refit:g} of {epochs} epochs (trainer.epochs) leaves none to learn the "
            "augmentation in"
        )
    group = objective.held_out_group
    if group is not None and group not in data.train.facts:
        facts = ", ".join(sorted(data.train.facts)) or "none"
        raise ConfigError(f"{section}.group: {data.facts.name} has no per-example fact {group!r} (it has: {facts})")
    kept, held = split_held_out(data.train, objective.held_out_fraction, seed, group)
    n_held = len(held)
    if not len(kept):
        raise ConfigError(f"data.n_train: {len(data.train)} examples leave none to train on once {n_held} are held out")
    if n_held < objective.batch_size:
        raise ConfigError(
            f"{section}.batch_size: {objective.batch_size} is more than the {n_held} held-out examples "
            f"({objective.held_out_fraction:g} of {len(data.train)}); hold out more or take smaller batches"
        )
    if data.task == "classification" and n_held < data.n_classes:
        raise ConfigError(
            f"data.n_train: {n_held} held-out examples ({objective.held_out_fraction:g} of {len(data.train)}) are "
            f"fewer than the {data.n_classes} classes; hold out more"
        )
    groups = None if group is None else held.facts[group]
    classes = data.n_classes if data.task != "regression" else None
    objective.hold_out(held.inputs, held.labels, seed + seeds.HELD_OUT, groups, classes)
    return dataclasses.replace(data, train=kept), held


def split_held_out(train: Split, fraction: float, seed: int, group: str | None = None) -> tuple[Split, Split]:
    """``(kept, held)``: the training examples the weights see and the ``round(fraction * N)`` a run of this
    ``seed`` holds out from them (a seeded random subset), as :func:`train` splits them; with ``group`` (a
    per-example fact), whole groups in a seeded random order until they hold that many."""
    n_held = int(round(fraction * len(train)))
    generator = torch.Generator().manual_seed(seed + seeds.HELD_OUT)
    if group is None:
        order = torch.randperm(len(train), generator=generator)
        return train.take(order[n_held:]), train.take(order[:n_held])
    values, index = torch.unique(train.facts[group], return_inverse=True)
    order = torch.randperm(len(values), generator=generator)  # the groups in a seeded order
    sizes = torch.bincount(index, minlength=len(values))[order]
    n_groups = int((sizes.cumsum(0) < n_held).sum()) + 1  # the first groups that hold n_held examples
    held = torch.isin(index, order[:n_groups])
    return train.take(torch.nonzero(~held).squeeze(1)), train.take(torch.nonzero(held).squeeze(1))


def _checked_learner(config: dict, data):
    """The learner, after one forward pass on two training examples (eval mode, a private generator: no
    state or random stream of the run is touched), so a trunk that cannot take this data is refused now."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a refused trunk is reported by its error, not by torch's warnings
        try:
            learner = build_learner(config, data)
            model = learner.model.eval()
            with torch.no_grad():
                model(data.train.inputs[:2], generator=torch.Generator().manual_seed(0))
        except (TypeError, ValueError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ConfigError(f"model: the model cannot be built for this data ({reason})") from None
    model.train()
    return learner


def _write_config(out: Path, config: dict, resume: bool) -> None:
    """Write the run's ``config.yaml`` into its folder (a resumed run keeps its own)."""
    import yaml

    if resume or is_launched_worker():
        return
    try:
        (out / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot write ({error.strerror})") from None


def _discard_unstarted(out: Path, created: bool) -> bool:
    """Remove the folder this run created if it holds no checkpoint yet (a run that stopped before its first
    one leaves nothing half-made behind); returns whether it was removed."""
    if not created or (out / CHECKPOINT).is_file() or is_launched_worker():
        return False
    shutil.rmtree(out, ignore_errors=True)
    return True


def _identification(config: dict, learned: dict) -> dict | None:
    """What the run learned of its data's known invariance (:mod:`invlearn.metrics.identification`), or ``None`` where
    the data carry none."""
    data = config["data"]
    truth = registry.truth(data["name"], data["transform"], data["transform_range"])
    if truth is None:
        return None
    truth = truth.matching(learned)  # named as the run's candidates name it
    return {
        "truth": {
            "names": list(truth.names),
            "half_range": truth.half_range,
            "unit": truth.unit,
            "at_most": truth.at_most,
        },
        "effective_ranges": identification.effective_ranges(learned),
        "recovered": identification.recovered(learned, truth),
        "selected": identification.selected(learned, truth),
    }


def _metrics(task, start: float, diverged: dict | None = None) -> dict:
    last = task.history[-1] if task.history else {}
    learned = task.model.learned_invariances()
    results = {key: last.get(key) for key in task.score.keys}
    metrics = {
        "final": {
            **results,
            "score": task.score.headline,
            "learned_invariances": learned,
            "epochs": len(task.history),
            "identification": _identification(task.config, learned),
            "train_seconds": sum(entry["seconds"] for entry in task.history),
            "hyper_seconds": sum(entry["hyper_seconds"] for entry in task.history),
        },
        "epochs": task.history,
        "wall_time_s": time.perf_counter() - start,
    }
    if task.objective.n_held_out:
        metrics["final"]["held_out"] = {
            "examples": task.objective.n_held_out,
            "fraction": task.objective.held_out_fraction,
            "weights_trained_on": task.n_train,
            "refit_epochs": task.config["trainer"]["epochs"] - task.refit_from,
        }
    if diverged is not None:
        metrics["diverged"] = diverged
    return metrics


def train(config: dict, out_dir: str | Path, resume: bool = False) -> dict:
    """Train the configured model into ``out_dir`` (or continue the run there with ``resume``); returns the
    metrics written to ``metrics.json``. Raises :class:`~invlearn.training.schema.ConfigError` for a run refused before
    it starts (nothing is left behind), :class:`RunFailed` for a run that diverged (its last good checkpoint is kept)
    and :class:`Interrupted` for one stopped by Ctrl-C or SIGTERM; a run that stops before its first checkpoint, for
    any reason but divergence, removes the folder it created. Two processes never write one run folder: the second
    is refused (:func:`~invlearn.training.rundir.writing_into`)."""
    out = Path(out_dir)
    start = time.perf_counter()
    data, held, task = _prepare(config, out, resume)
    holding = contextlib.nullcontext(False) if is_launched_worker() else writing_into(out, "--out")
    with holding as created:
        if not resume:  # again, now that no other process writes here: another run may have finished meanwhile
            _check_out(out, resume)
        _write_config(out, config, resume)
        return _fit(config, data, held, task, out, created, resume, start)


def _fit(config: dict, data, held, task, out: Path, created: bool, resume: bool, start: float) -> dict:
    """Train ``task`` into the run folder ``out`` (``created`` by this run: removed again if it stops before its
    first checkpoint; ``resume``: from its checkpoint) and write its metrics and report; see :func:`train`. ``held``:
    the held-out split, which the weights train on in the objective's refit epochs."""
    from invlearn.training.progress import quiet_lightning
    from invlearn.training.task import Diverged

    train_batches, test_batches = _loaders(config, data, held, task.refit_from)
    train_batches.position = task.batch_position
    with quiet_lightning():
        try:
            trainer = _trainer(config, out)
        except Exception as error:  # Lightning refuses the devices or strategy
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise ConfigError(f"trainer: {error}") from None
        on_ctrl_c = signal.getsignal(signal.SIGINT)
        try:
            checkpoint = out / CHECKPOINT if resume else None
            trainer.fit(task, train_batches, test_batches, ckpt_path=checkpoint, weights_only=True)
        except SystemExit:  # Lightning's answer to Ctrl-C: it exits, having set SIGINT to be ignored
            if not trainer.interrupted:
                raise
            signal.signal(signal.SIGINT, on_ctrl_c)
            kept = not _discard_unstarted(out, created)
            raise Interrupted(out if kept else None, trainer.current_epoch + 1, trainer.global_step) from None
        except Diverged as error:
            diverged = {"step": error.step, "epoch": trainer.current_epoch + 1, "message": str(error)}
            if trainer.is_global_zero:
                write_json(out / METRICS, _metrics(task, start, diverged))
            kept = out / CHECKPOINT
            where = f"the last good checkpoint is {kept}" if kept.is_file() else "no checkpoint was written yet"
            raise RunFailed(f"{error}; {where}") from None
        except Exception:
            _discard_unstarted(out, created)
            raise
    metrics = _metrics(task, start)
    if trainer.is_global_zero:
        write_json(out / METRICS, metrics)
        if importlib.util.find_spec("matplotlib") is not None:
            from invlearn.training.report import write_report

            write_report([out])
    return metrics


def load_trained(run_dir: str | Path, n_copies: int | None = None):
    """``(config, data, model, checkpoint)`` of a finished run: its config, its data rebuilt, and its model in
    eval mode holding the last checkpoint's weights (loaded with ``weights_only=True``), averaging ``n_copies``
    test-time copies instead of the configured number if given."""
    run = Path(run_dir)
    config = read_config(run)
    checkpoint = read_checkpoint(run)
    try:
        data = build_data(config)
    except DataError as error:
        raise ConfigError(str(error)) from None
    model = build_learner(config, data).model
    # the model's weights (the task's state also holds the objective's, e.g. a learned prior precision)
    state = {key[len("model.") :]: value for key, value in checkpoint["state_dict"].items() if key.startswith("model.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = (lines[1] if len(lines) > 1 else lines[0])[:300]  # the first missing or mis-shaped weight
        raise ConfigError(f"{run / CHECKPOINT}: does not match the run's model ({reason})") from None
    if n_copies is not None:
        model.n_copies_eval = n_copies
    return config, data, model.eval(), checkpoint


def evaluate(run_dir: str | Path, n_copies: int | None = None) -> dict:
    """The test score of a run's last checkpoint (loaded with ``weights_only=True``; accuracy, mean absolute error
    or mean IoU by the kind of task), with the configured or the given number of test-time copies."""
    config, data, model, checkpoint = load_trained(run_dir, n_copies)
    generator = torch.Generator().manual_seed(config["seed"] + seeds.EVALUATION)
    batch = config["trainer"]["eval_batch_size"]
    score = evaluation.SCORES[data.task](data.n_classes)
    results = evaluation.evaluate(model, data.test.inputs, data.test.labels, score, batch, generator)
    return {
        **results,
        "score": score.headline,
        "n_copies_eval": model.n_copies_eval,
        "learned_invariances": model.learned_invariances(),
        "epoch": checkpoint.get("epoch"),
    }
