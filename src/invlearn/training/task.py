"""The Lightning glue: one ``LightningModule`` that trains any of the configured models.

The learners know nothing of Lightning; this module only wires their loss, their penalty and their report
into Lightning's loop, keeps the augmentation generator's state in checkpoints (exact resumption), and
records one entry per epoch for ``metrics.json``.
"""

from __future__ import annotations

import time

import lightning as L
import torch
import torch.nn.functional as F

from invlearn.losses import regularized_loss
from invlearn.models import AugNet, InvariantModel
from invlearn.training.build import Data, build_model

#: Training examples whose activations set the batch-norm statistics before every evaluation.
CALIBRATION_EXAMPLES = 1024


def augmentation_seed(seed: int, rank: int) -> int:
    """The seed of process ``rank``'s augmentation generator: ``seed + 1`` for rank 0 (so one process gives
    the same run as before), and a stream 2**32 seeds away for every further rank, so processes training on
    different examples do not also draw the same augmentation noise."""
    return seed + 1 + (rank << 32)


def accuracies(counts: torch.Tensor) -> tuple[float, float]:
    """``(accuracy, balanced accuracy)`` from per-class ``counts`` ``(n_classes, 2)`` = (correct, seen); the
    balanced accuracy is the mean recall over the classes present."""
    seen = counts[:, 1] > 0
    return float(counts[:, 0].sum() / counts[:, 1].sum()), float((counts[seen, 0] / counts[seen, 1]).mean())


class InvarianceTask(L.LightningModule):
    """Train a configured model on a configured data set.

    Args:
        config: a validated configuration (:func:`invlearn.training.config.validate`).
        data: the tensors of the experiment (:func:`invlearn.training.build.build_data`).
    """

    def __init__(self, config: dict, data: Data) -> None:
        super().__init__()
        self.config = config
        self.model = build_model(config, data)
        self.invariant = isinstance(self.model, InvariantModel)
        self.learns = self.invariant and config["model"]["method"] in ("augnet", "augerino")
        self.generator = torch.Generator().manual_seed(augmentation_seed(config["seed"], 0))
        self._calibration_inputs = data.train_inputs[:CALIBRATION_EXAMPLES]
        self.history: list[dict] = []
        self._epoch_start = 0.0
        self._train_seconds = 0.0
        self._eval_start = 0.0
        self._val_generator = torch.Generator()
        self._train_losses: list[float] = []
        self._counts = torch.zeros(data.n_classes, 2, dtype=torch.float64)  # per class: correct, seen

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model(x, generator=generator) if self.invariant else self.model(x)

    def learned_invariances(self) -> dict:
        return self.model.learned_invariances() if self.invariant else {}

    def training_step(self, batch, batch_idx):
        x, y = batch
        out = self(x, self.generator)
        if self.learns:
            penalty_kwargs = {"kind": self.config["loss"]["penalty"]} if isinstance(self.model, AugNet) else {}
            loss = regularized_loss(out, y, self.model, self.config["loss"]["lam"], **penalty_kwargs)
        else:
            loss = F.cross_entropy(out, y)
        self._train_losses.append(float(loss.detach()))
        self.log("loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        if self.invariant:
            self.log("range", self.headline_range(), prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def headline_range(self) -> float:
        """Upper bound of the range of the transform that matters most now: AugNet's most-weighted candidate,
        Augerino's rotation (else its first generator)."""
        report = self.learned_invariances()
        if self.config["model"]["method"] == "augerino":
            return float(report.get("rotate", next(iter(report.values())))["high"])
        return float(max(report.values(), key=lambda entry: entry["weight"])["high"])

    def batch_position(self, n_batches: int) -> tuple[int, int]:
        """``(epoch, batches already trained in it)`` from the trainer's (restored) counters, one optimiser step
        per batch: where a :class:`~invlearn.training.batches.TensorBatches` must start."""
        epoch = self.trainer.current_epoch
        return epoch, self.trainer.global_step - epoch * n_batches

    def setup(self, stage: str) -> None:
        # the rank is known once the trainer is attached; a resumed checkpoint then overwrites this state
        if stage == "fit":
            self.generator.manual_seed(augmentation_seed(self.config["seed"], self.global_rank))

    def on_train_start(self) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_start(self) -> None:
        # not called for an epoch resumed in the middle, whose losses so far come from the checkpoint
        self._epoch_start = time.perf_counter()
        self._train_losses = []

    def on_validation_epoch_start(self) -> None:
        self._train_seconds = time.perf_counter() - self._epoch_start
        self._eval_start = time.perf_counter()
        self._val_generator = torch.Generator().manual_seed(self.config["seed"] + 2)
        self._counts.zero_()
        self.recalibrate_batch_norm()

    @torch.no_grad()
    def recalibrate_batch_norm(self) -> None:
        """Recompute every batch-norm layer's running statistics on a fixed slice of the training set, passed
        through the model as it is evaluated (augmentations sampled as in eval mode).

        Running averages lag behind weights that change fast (weight decay of 1.0 rescales the convolutions
        at every step), and evaluation with stale statistics can fall to chance while training accuracy is
        perfect, as seen with the published AugNet code. This only changes what evaluation uses.

        One augmented copy per example is enough: every copy is drawn from the same distribution, and the
        evaluation's copies (20 on CIFAR-10) would multiply the cost of the pass without new examples."""
        norms = [m for m in self.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        generator = torch.Generator().manual_seed(self.config["seed"] + 3)
        batch = self.config["trainer"]["batch_size"]
        inputs = self._calibration_inputs.to(self.device)
        for m in norms:
            m.train()
        for start in range(0, inputs.shape[0], batch):
            x = inputs[start : start + batch]
            if self.invariant:
                self.model.trunk(self.model.augment(x, 1, generator))  # one copy, sampled as in eval mode
            else:
                self.model(x)
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
            m.eval()

    def validation_step(self, batch, batch_idx):
        x, y = batch
        predictions = self(x, self._val_generator).argmax(dim=1)
        n_classes = self._counts.shape[0]
        hits = torch.bincount(y, weights=(predictions == y).double(), minlength=n_classes)
        self._counts += torch.stack([hits, torch.bincount(y, minlength=n_classes).double()], dim=1).cpu()

    def on_validation_epoch_end(self) -> None:
        counts = self._counts.to(self.device)
        if self.trainer.world_size > 1:
            counts = self.all_gather(counts).sum(dim=0)
        accuracy, balanced = accuracies(counts)
        self.log("test_accuracy", accuracy, prog_bar=True, sync_dist=False)
        if self.trainer.sanity_checking:
            return
        self.history.append(
            {
                "epoch": self.current_epoch,
                "train_loss": float(sum(self._train_losses) / max(len(self._train_losses), 1)),
                "test_accuracy": accuracy,
                "balanced_accuracy": balanced,
                "learned_invariances": self.learned_invariances(),
                "seconds": self._train_seconds,
                "eval_seconds": time.perf_counter() - self._eval_start,
            }
        )

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None) -> None:
        """The optimiser's step, then the projection of every augmentation strength into ``[0, 1]``."""
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        if self.invariant:
            self.model.project_()

    def configure_optimizers(self):
        """Adam (or SGD) with weight decay on the trunk, and an optional cosine schedule.

        ``optim.decay_augmentation: true`` decays the augmentation's parameters too; with the sprites settings
        (decay 1.0) that collapsed every magnitude to 0 within 10 epochs (rotation range 0.006 rad), so the
        published decay cannot have applied to them. ``optim.decoupled_weight_decay: true`` uses AdamW's
        decoupled decay instead of Adam's L2 term. ``optim.schedule: cosine`` anneals every group's learning
        rate to 0 over ``trainer.epochs``, one step per batch."""
        optim = self.config["optim"]
        trunk = self.model.trunk if self.invariant else self.model
        trunk_ids = {id(p) for p in trunk.parameters()}
        others = [p for p in self.model.parameters() if id(p) not in trunk_ids and p.requires_grad]
        groups = [{"params": list(trunk.parameters()), "weight_decay": optim["weight_decay"]}]
        if others:
            decay = optim["weight_decay"] if optim["decay_augmentation"] else 0.0
            groups.append({"params": others, "weight_decay": decay})
        if optim["algorithm"] == "sgd":
            optimizer = torch.optim.SGD(groups, lr=optim["lr"], momentum=optim["momentum"], nesterov=optim["nesterov"])
        else:
            adam = torch.optim.AdamW if optim["decoupled_weight_decay"] else torch.optim.Adam
            optimizer = adam(groups, lr=optim["lr"])
        if optim["schedule"] == "constant":
            return optimizer
        total = self.trainer.estimated_stepping_batches  # epochs x batches per epoch, this process's share
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=int(total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # called on every process (Lightning's save is collective), so every rank's generator is kept
        states = self.generator.get_state().to(self.device)
        if self.trainer.world_size > 1:
            states = self.all_gather(states)
        checkpoint["invlearn"] = {
            "generators": states.reshape(self.trainer.world_size, -1).cpu(),
            "history": self.history,
            "epoch_losses": list(self._train_losses),
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint["invlearn"]
        generators = state["generators"]
        if generators.shape[0] != self.trainer.world_size:
            raise ValueError(
                f"the checkpoint was written by {generators.shape[0]} process(es) and is resumed with "
                f"{self.trainer.world_size}; resume with trainer.devices={generators.shape[0]}"
            )
        self.generator.set_state(generators[self.global_rank].clone())
        self.history = list(state["history"])
        self._train_losses = list(state["epoch_losses"])
