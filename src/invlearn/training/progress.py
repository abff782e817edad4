"""What a run prints while it trains: progress on stderr, never on stdout (which carries the final JSON line).

On a terminal, one line rewritten in place (at most a few times a second) shows the epoch, the step and the
transform the learner holds most; otherwise (CI, ``nohup``, a log file) one line per evaluated epoch. Lightning's
own banners, tips and progress bars are switched off (:func:`quiet_lightning`).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from contextlib import contextmanager
from typing import TextIO

from lightning.pytorch.callbacks import Callback

#: Seconds between two rewrites of the progress line on a terminal.
REFRESH_SECONDS = 0.25


def describe(entry_key: str, entry: dict) -> str:
    """``rotate +-0.412 rad (weight 0.99)``: one learned range with its unit (and weight where it has one)."""
    low, high = entry["low"], entry["high"]
    span = f"+-{high:.3g}" if low == -high and high > 0 else f"[{low:.3g}, {high:.3g}]"
    weight = "" if entry.get("weight") is None else f" (weight {entry['weight']:.2f})"
    return f"{entry_key} {span} {entry['unit']}{weight}"


class Progress(Callback):
    """Report training progress on ``stream`` (default stderr).

    Args:
        stream: where to write.
        interactive: rewrite one line in place (a terminal) or print a line per epoch; default: whether
            ``stream`` is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._last = 0.0

    def _learned(self, pl_module) -> str:
        headline = pl_module.model.headline()
        return "" if headline is None else f"  {describe(*headline)}"

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not self.interactive or not trainer.is_global_zero or time.monotonic() - self._last < REFRESH_SECONDS:
            return
        self._last = time.monotonic()
        line = (
            f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}  step {batch_idx + 1}/"
            f"{trainer.num_training_batches}  loss {pl_module.last_loss:.4f}{self._learned(pl_module)}"
        )
        self.stream.write(f"\r{line[:160]:<160}")
        self.stream.flush()

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not pl_module.history:
            return
        entry = pl_module.history[-1]
        value = entry[entry["score"]]
        scored = "" if value is None else f"  {entry['score'].replace('_', ' ')} {value:.4f}"
        line = (
            f"epoch {entry['epoch'] + 1}/{trainer.max_epochs}  train loss {entry['train_loss']:.4f}"
            f"{scored}{self._learned(pl_module)}  ({entry['seconds']:.1f} s + {entry['eval_seconds']:.1f} s eval)"
        )
        self.stream.write(("\r" if self.interactive else "") + f"{line:<160}".rstrip() + "\n")
        self.stream.flush()


#: Messages of Lightning and its dependencies that say nothing about this run.
_NOISE = (
    ".*does not have many workers.*",
    ".*is not a `torch.utils.data.DataLoader`.*",
    ".*The number of training batches .* is smaller than the logging interval.*",
    ".*Checkpoint directory .* exists and is not empty.*",
    ".*is deprecated.*",
    ".*LeafSpec.*",
    ".*Starting from v1.9.0, `tensorboardX` has been removed.*",
    ".*GPU available but not used.*",
)


@contextmanager
def quiet_lightning():
    """Silence Lightning's banners ("GPU available...", tips), its info logs and the warnings of
    ``_NOISE`` for the duration of a run; warnings and errors of the run itself still show."""
    loggers = [logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in _NOISE:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
