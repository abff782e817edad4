"""Training and evaluation runs: a run directory per experiment.

A run directory holds the resolved ``config.yaml``, ``checkpoints/last.ckpt`` (written every
``trainer.checkpoint_every_n_steps`` steps and after every epoch), CSV and TensorBoard logs under ``logs/``,
``report.md`` with its plots (when matplotlib is installed) and ``metrics.json``::

    {"final": {"test_accuracy", "balanced_accuracy", "learned_invariances", "epochs"},
     "epochs": [{"epoch", "train_loss", "test_accuracy", "balanced_accuracy", "learned_invariances", "seconds",
                 "eval_seconds"}, ...],
     "wall_time_s": float}

``balanced_accuracy`` is the mean per-class recall (the sleep-staging metric). ``seconds`` is the epoch's
training time; ``eval_seconds`` its evaluation (batch-norm recalibration and the test set with every test-time
copy).
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import warnings
from pathlib import Path

import torch

from invlearn.data.files import DataError
from invlearn.training.batches import TensorBatches
from invlearn.training.build import build_data
from invlearn.training.config import ConfigError, load

CHECKPOINT = Path("checkpoints") / "last.ckpt"


def _is_launched_worker() -> bool:
    """True in the extra processes that Lightning's DDP launcher starts (they re-run the same command)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0


def _last_checkpoint_callback(path: Path, every_n_steps: int):
    """A callback that keeps one checkpoint, ``path``: every ``every_n_steps`` steps and after each epoch's
    evaluation (so a killed run loses at most ``every_n_steps`` steps)."""
    from lightning.pytorch.callbacks import Callback

    class LastCheckpoint(Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            if trainer.global_step % every_n_steps == 0:
                trainer.save_checkpoint(path, weights_only=False)  # the full state, to resume

        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking:
                trainer.save_checkpoint(path, weights_only=False)  # the full state, to resume

    return LastCheckpoint()


def _csv_version(out: Path) -> str:
    """``csv`` for a new run, ``csv-1``, ``csv-2``... for each resumption: Lightning's CSV logger rewrites its
    file from what it logged itself, so a resumed segment in the same folder would drop the earlier rows."""
    segments = len(list((out / "logs").glob("csv*")))
    return "csv" if segments == 0 else f"csv-{segments}"


def _trainer(config: dict, out: Path):
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    spec = config["trainer"]
    callbacks = [_last_checkpoint_callback(out / CHECKPOINT, spec["checkpoint_every_n_steps"])]
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
        enable_progress_bar=spec["progress_bar"],
        enable_model_summary=False,
        enable_checkpointing=False,  # our own callback keeps checkpoints/last.ckpt
        num_sanity_val_steps=0,
        callbacks=callbacks,
        logger=loggers,
        use_distributed_sampler=False,
        log_every_n_steps=10,
    )


def _loaders(config: dict, data) -> tuple[TensorBatches, TensorBatches]:
    spec = config["trainer"]
    train = TensorBatches(data.train_inputs, data.train_labels, spec["batch_size"], shuffle=True, seed=config["seed"])
    test = TensorBatches(data.test_inputs, data.test_labels, spec["eval_batch_size"], shuffle=False)
    return train, test


def read_config(run_dir: str | Path) -> dict:
    """The validated ``config.yaml`` of a run directory."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: cannot read (no such file); is {run_dir} a run directory?")
    return load(path)


def train(config: dict, out_dir: str | Path, resume: bool = False) -> dict:
    """Train the configured model into ``out_dir`` (or continue the run there with ``resume``); returns the
    metrics written to ``metrics.json``."""
    import lightning as L
    import yaml

    from invlearn.training.task import InvarianceTask

    out = Path(out_dir)
    checkpoint = out / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise ConfigError(f"--resume {out}: no checkpoint at {checkpoint}")
    if not resume and not _is_launched_worker() and (checkpoint.exists() or (out / "metrics.json").exists()):
        raise ConfigError(f"--out {out}: already holds a run; resume it with --resume {out} or pick another --out")
    start = time.perf_counter()
    L.seed_everything(config["seed"], workers=True, verbose=False)
    try:  # before anything is written: a missing or corrupt data file leaves no run directory behind
        data = build_data(config)
    except DataError as error:
        raise ConfigError(str(error)) from None
    out.mkdir(parents=True, exist_ok=True)
    if not resume and not _is_launched_worker():
        (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    task = InvarianceTask(config, data)
    train_batches, test_batches = _loaders(config, data)
    train_batches.position = task.batch_position
    trainer = _trainer(config, out)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*is not a `torch.utils.data.DataLoader`.*")
        trainer.fit(task, train_batches, test_batches, ckpt_path=checkpoint if resume else None, weights_only=True)
    metrics = {
        "final": {
            "test_accuracy": task.history[-1]["test_accuracy"],
            "balanced_accuracy": task.history[-1]["balanced_accuracy"],
            "learned_invariances": task.learned_invariances(),
            "epochs": len(task.history),
        },
        "epochs": task.history,
        "wall_time_s": time.perf_counter() - start,
    }
    if trainer.is_global_zero:
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        if importlib.util.find_spec("matplotlib") is not None:
            from invlearn.training.report import write_report

            write_report([out])
    return metrics


def load_trained(run_dir: str | Path, n_copies: int | None = None):
    """``(config, data, task, checkpoint)`` of a finished run: its config, its data rebuilt, and an
    :class:`~invlearn.training.task.InvarianceTask` in eval mode holding the last checkpoint's weights (loaded with
    ``weights_only=True``), averaging ``n_copies`` test-time copies instead of the configured number if given."""
    from invlearn.training.task import InvarianceTask

    run = Path(run_dir)
    config = read_config(run)
    path = run / CHECKPOINT
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint["state_dict"]
    except FileNotFoundError:
        raise ConfigError(f"{path}: no checkpoint; was the run trained?") from None
    except Exception as error:  # a corrupt or foreign file: say which, keep the run untouched
        raise ConfigError(f"{path}: not a readable invlearn checkpoint ({type(error).__name__}: {error})") from None
    data = build_data(config)
    task = InvarianceTask(config, data)
    task.load_state_dict(state)
    if n_copies is not None and task.invariant:
        task.model.n_copies_eval = n_copies
    return config, data, task.eval(), checkpoint


def evaluate(run_dir: str | Path, n_copies: int | None = None) -> dict:
    """Test accuracy of a run's last checkpoint (loaded with ``weights_only=True``), with the configured or the
    given number of test-time copies."""
    config, data, task, checkpoint = load_trained(run_dir, n_copies)
    _, test = _loaders(config, data)
    generator = torch.Generator().manual_seed(config["seed"] + 2)
    correct = 0
    with torch.no_grad():
        for x, y in test:
            correct += int((task(x, generator).argmax(1) == y).sum())
    return {
        "test_accuracy": correct / len(test.labels),
        "n_copies_eval": task.model.n_copies_eval if task.invariant else 1,
        "learned_invariances": task.learned_invariances(),
        "epoch": checkpoint.get("epoch"),
    }
