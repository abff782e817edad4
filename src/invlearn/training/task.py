"""The Lightning glue: one ``LightningModule`` that trains any learner it is given.

The learners know nothing of Lightning, and this module knows nothing of their kind: it receives a built
:class:`~invlearn.training.build.Learner` (a model and its :class:`~invlearn.objectives.Objective`), wires the
objective's weight loss into Lightning's loop, takes the objective's hyper-steps (the augmentation's own updates,
with their own Adam, e.g. the marginal likelihood's) where it asks for them and times them apart, keeps the
augmentation generator's state in checkpoints (exact resumption), stops a run whose loss or weights stop being
finite, and records one entry per epoch for ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import math
import time

import lightning as L
import torch
from torch import Tensor

from invlearn._validation import shown
from invlearn.objectives.context import HyperStep
from invlearn.training import seeds
from invlearn.training.build import Learner
from invlearn.training.evaluation import CALIBRATION_EXAMPLES, Score, recalibrate_batch_norm
from invlearn.training.schema import objective_section_name


class Diverged(RuntimeError):
    """Training stopped because the loss or the weights stopped being finite; the message says where and why,
    ``step`` is the optimiser step (counted from 1) it happened at."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


def _state_problem(saved: object, expected: object) -> str | None:
    """How a checkpoint's entry differs from this model's: a tensor's shape, or an extra state's type and keys."""
    if isinstance(expected, Tensor):
        if isinstance(saved, Tensor) and saved.shape == expected.shape:
            return None
        got = tuple(saved.shape) if isinstance(saved, Tensor) else type(saved).__name__
        return f"is {got}, this run's model has {tuple(expected.shape)}"
    if type(saved) is not type(expected) or (isinstance(expected, dict) and set(saved) != set(expected)):
        return f"is not the {type(expected).__name__} this run's model keeps there"
    return None


def _group_sizes(optimizer_states: list) -> list[int] | None:
    """The number of parameters in each group of a checkpoint's one optimizer state, ``None`` if malformed."""
    if len(optimizer_states) != 1 or not isinstance(optimizer_states[0], dict):
        return None
    groups = optimizer_states[0].get("param_groups")
    if not isinstance(groups, list) or not all(
        isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups
    ):
        return None
    return [len(group["params"]) for group in groups]


class InvarianceTask(L.LightningModule):
    """Train a learner with the optimiser and trainer settings of a configuration.

    Args:
        config: a validated configuration (:func:`invlearn.training.config.validate`); its ``optim``,
            ``trainer`` and ``seed`` sections are used here.
        learner: the model to train and its objective.
        calibration_inputs: training examples ``(N, ...)`` that set the batch-norm statistics before every
            evaluation (the first :data:`~invlearn.training.evaluation.CALIBRATION_EXAMPLES` are kept).
        score: how the test set is scored (:data:`invlearn.training.evaluation.SCORES`).
        n_train: the number of training examples (the data-set size ``N`` of the objective).
    """

    def __init__(self, config: dict, learner: Learner, calibration_inputs: Tensor, score: Score, n_train: int) -> None:
        super().__init__()
        self.config = config
        self.model = learner.model
        self.objective = learner.objective
        epochs = config["trainer"]["epochs"]
        #: The first epoch of the objective's refit (``epochs`` where it has none): from it on, no hyper-step, and the
        #: weights train on the held-out examples too.
        self.refit_from = epochs - self.objective.refit_epochs(epochs)
        self.n_train = n_train
        self._hyper_optimizer: torch.optim.Optimizer | None = None
        self._hyper_state: dict | None = None  # a resumed hyper-optimiser's state, loaded at its creation
        self._hyper_seconds = 0.0
        self.generator = torch.Generator().manual_seed(seeds.augmentation_seed(config["seed"], 0))
        self._calibration_inputs = calibration_inputs[:CALIBRATION_EXAMPLES]
        self.history: list[dict] = []
        self._epoch_start = 0.0
        self._train_seconds = 0.0
        self._eval_start = 0.0
        self._val_generator = torch.Generator()
        self._train_losses: list[float] = []
        self.score = score
        self._counts = score.zeros()

    @property
    def last_loss(self) -> float:
        """The training loss of the latest step of this epoch (NaN before its first step)."""
        return self._train_losses[-1] if self._train_losses else math.nan

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model(x, generator=generator)

    def training_step(self, batch, batch_idx):
        x, y = batch
        refitting = self.current_epoch >= self.refit_from
        if not refitting and self.objective.hyper_step_due(self.current_epoch, self.global_step + 1):
            self._hyper_step(x, y)
        ranges = contextlib.nullcontext() if refitting else self.objective.training_ranges(self.model)
        with ranges, self._hyper_parameters_as_constants():
            output, target = self.model.training_outputs(x, y, self.generator)
            loss = self.objective.weights_loss(self.model, output, target, self.n_train)
        value = float(loss.detach())
        if not self.trainer.strategy.reduce_boolean_decision(math.isfinite(value), all=True):  # every process stops
            raise self._diverged(self.global_step + 1, f"the training loss is {value}")
        self._train_losses.append(value)
        self.log("loss", loss, on_step=True, on_epoch=False)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    @contextlib.contextmanager
    def _hyper_parameters_as_constants(self):
        """Within it, an objective that learns the augmentation apart from the weights (in its hyper-steps) has its
        hyper-parameters as constants: the weight step's graph then has no path into them, and its backward pass
        computes neither the warp's gradient nor the trunk's input gradient, which only the hyper-step would use
        (the weights' gradients are the same). Not under data parallelism, whose wrapper expects a gradient for
        every parameter that required one when it was built."""
        if self.objective.augmentation_with_weights or self.trainer.world_size > 1:
            yield
            return
        learned = [p for p in self.objective.hyper_parameters(self.model) if p.requires_grad]
        for parameter in learned:
            parameter.requires_grad_(False)
        try:
            yield
        finally:
            for parameter in learned:
                parameter.requires_grad_(True)

    def _hyper_step(self, x: Tensor, y: Tensor) -> None:
        """One update of the objective's hyper-parameters (the augmentation, a prior) on this batch, with their
        own Adam; its time is counted apart (``hyper_seconds``)."""
        start = time.perf_counter()
        parameters = self.objective.hyper_parameters(self.model)
        if self._hyper_optimizer is None:
            self._hyper_optimizer = torch.optim.Adam(parameters, lr=self.objective.lr, betas=self.objective.hyper_betas)
            if self._hyper_state is not None:
                self._hyper_optimizer.load_state_dict(self._hyper_state)
        context = HyperStep(self.model, x, y, self.n_train, self.generator, self.optimizers(use_pl_optimizer=False))
        value, grads = self.objective.hyper_gradients(context)
        if not math.isfinite(value):
            raise self._diverged(self.global_step + 1, f"the objective's hyper-step loss is {value}", True)
        if self.trainer.world_size > 1:  # every process takes the same step: the mean of their hyper-gradients
            grads = [
                self.trainer.strategy.reduce(torch.zeros_like(p) if g is None else g)
                for p, g in zip(parameters, grads, strict=True)
            ]
        for parameter, grad in zip(parameters, grads, strict=True):
            parameter.grad = grad
        self._hyper_optimizer.step()
        self._hyper_optimizer.zero_grad(set_to_none=True)
        self.model.project_()
        values = {key: value for key, value in self.objective.hyper_values().items() if isinstance(value, float)}
        stepped = [*parameters, *(torch.tensor(value) for value in values.values())]
        if not all(bool(torch.isfinite(value).all()) for value in stepped):
            raise self._diverged(self.global_step + 1, f"the objective's values are no longer finite ({values})", True)
        self._hyper_seconds += time.perf_counter() - start

    def _diverged(self, step: int, what: str, in_hyper_step: bool = False) -> Diverged:
        """The error of a run that diverged at ``step``, naming the learning rate that likely did it: the
        objective's own (e.g. ``marglik.lr``) where its hyper-step failed, else the weights' ``optim.lr``."""
        section = objective_section_name(self.config["model"]["objective"])
        if in_hyper_step and "lr" in self.config.get(section, {}):
            key, rate = f"{section}.lr", self.config[section]["lr"]
        else:
            key, rate = "optim.lr", self.config["optim"]["lr"]
        return Diverged(
            f"training diverged at step {step} (epoch {self.current_epoch + 1}): {what}; the likely cause is a "
            f"learning rate too high for this model ({key} = {rate:g}) or an augmentation range so wide that the "
            f"trunk's inputs blow up",
            step,
        )

    def check_weights(self) -> None:
        """Raise :class:`Diverged` if a weight is no longer finite. Called before every checkpoint (so none holds
        such a weight) rather than after every step: a non-finite weight also makes the next step's loss
        non-finite, which :meth:`training_step` checks anyway. The weights are the same on every process, so
        all of them stop."""
        if not bool(torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all()):
            raise self._diverged(self.global_step, "the weights are no longer finite after the optimiser's step")

    def batch_position(self, n_batches: int) -> tuple[int, int]:
        """``(epoch, batches already trained in it)`` from the trainer's (restored) counters, one optimiser step
        per batch: where a :class:`~invlearn.training.batches.TensorBatches` must start."""
        epoch = self.trainer.current_epoch
        return epoch, self.trainer.global_step - epoch * n_batches

    def setup(self, stage: str) -> None:
        # the rank is known once the trainer is attached; a resumed checkpoint then overwrites this state
        if stage == "fit":
            self.generator.manual_seed(seeds.augmentation_seed(self.config["seed"], self.global_rank))

    def on_train_start(self) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_start(self) -> None:
        # not called for an epoch resumed in the middle, whose losses so far come from the checkpoint
        self._epoch_start = time.perf_counter()
        self._train_losses = []
        self._hyper_seconds = 0.0

    def _scored_epoch(self) -> bool:
        """Whether this epoch's validation scores the test set: every ``trainer.eval_every_n_epochs``-th epoch and
        the last (the other epochs' entries record the training, with no score)."""
        epoch, spec = self.current_epoch + 1, self.config["trainer"]
        return epoch % spec["eval_every_n_epochs"] == 0 or epoch == spec["epochs"]

    def on_validation_epoch_start(self) -> None:
        self._train_seconds = time.perf_counter() - self._epoch_start
        self._eval_start = time.perf_counter()
        if not self._scored_epoch():
            return
        self._val_generator = torch.Generator().manual_seed(self.config["seed"] + seeds.EVALUATION)
        self._counts.zero_()
        calibration = torch.Generator().manual_seed(self.config["seed"] + seeds.CALIBRATION)
        inputs = self._calibration_inputs.to(self.device)
        recalibrate_batch_norm(self.model, inputs, self.config["trainer"]["batch_size"], calibration)

    def validation_step(self, batch, batch_idx):
        if not self._scored_epoch():
            return
        x, y = batch
        self._counts += self.score.counts(self.model, x, y, self._val_generator)

    def on_validation_epoch_end(self) -> None:
        results = dict.fromkeys(self.score.keys)
        if self._scored_epoch():
            counts = self._counts.to(self.device)
            if self.trainer.world_size > 1:
                counts = self.all_gather(counts).sum(dim=0)
            results = self.score.results(counts.cpu())
            self.log(self.score.headline, results[self.score.headline], sync_dist=False)
        if self.trainer.sanity_checking:
            return
        self.history.append(
            {
                "epoch": self.current_epoch,
                "train_loss": float(sum(self._train_losses) / max(len(self._train_losses), 1)),
                **results,
                "score": self.score.headline,
                "learned_invariances": self.model.learned_invariances(),
                "seconds": self._train_seconds,
                "hyper_seconds": self._hyper_seconds,
                "eval_seconds": time.perf_counter() - self._eval_start,
                "objective": self.objective.hyper_values(),
            }
        )

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None) -> None:
        """The optimiser's step, then the projection of every augmentation strength into ``[0, 1]``."""
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        self.model.project_()

    def configure_optimizers(self):
        """Adam (or SGD) with weight decay on the trunk, and an optional cosine schedule.

        ``optim.decay_augmentation: true`` decays the augmentation's parameters too; with the sprites settings
        (decay 1.0) that collapsed every magnitude to 0 within 10 epochs (rotation range 0.006 rad), so the
        published decay cannot have applied to them. ``optim.decoupled_weight_decay: true`` uses AdamW's
        decoupled decay instead of Adam's L2 term. ``optim.schedule: cosine`` anneals every group's learning
        rate to 0 over ``trainer.epochs``, one step per batch."""
        optim = self.config["optim"]
        groups = self._parameter_groups()
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

    def _parameter_groups(self) -> list[dict]:
        """The weights' optimiser groups: the trunk, and the rest of the model that trains with it (if any)."""
        optim = self.config["optim"]
        apart = [] if self.objective.augmentation_with_weights else self.objective.hyper_parameters(self.model)
        excluded = {id(p) for p in [*self.model.trunk.parameters(), *apart]}
        others = [p for p in self.model.parameters() if id(p) not in excluded and p.requires_grad]
        groups = [{"params": list(self.model.trunk.parameters()), "weight_decay": optim["weight_decay"]}]
        if others:
            decay = optim["weight_decay"] if optim["decay_augmentation"] else 0.0
            groups.append({"params": others, "weight_decay": decay})
        return groups

    def checkpoint_problem(self, checkpoint: dict) -> str | None:
        """What keeps ``checkpoint`` (a safely loaded Lightning checkpoint) from resuming this task, or ``None``:
        a counter, the loops' or the optimiser's state missing or of the wrong type, weights missing, unexpected or
        mis-shaped, or invlearn's own state (generators, history) not as :meth:`on_save_checkpoint` writes it."""
        for key, kinds in [("epoch", int), ("global_step", int), ("loops", dict), ("optimizer_states", list)]:
            if not isinstance(checkpoint.get(key), kinds) or isinstance(checkpoint.get(key), bool):
                return f"{key}: missing or of the wrong type"
        weights, expected = checkpoint["state_dict"], self.state_dict()
        if not isinstance(weights, dict):
            return "state_dict: not a mapping of names to tensors"
        for name in sorted(set(expected) | set(weights), key=str):
            if name not in weights:
                return f"state_dict: no weights for {name}"
            if name not in expected:
                return f"state_dict: {shown(name)} is not a weight of this run's model"
            problem = _state_problem(weights[name], expected[name])
            if problem:
                return f"state_dict: {name} {problem}"
        sizes = [len(group["params"]) for group in self._parameter_groups()]
        if _group_sizes(checkpoint["optimizer_states"]) != sizes:
            return f"optimizer_states: not the state of this run's optimizer (groups of {sizes} parameters)"
        own = checkpoint["invlearn"]
        if not isinstance(own, dict):
            return "invlearn: not a mapping"
        generators = own.get("generators")
        if not isinstance(generators, Tensor) or generators.dtype != torch.uint8 or generators.ndim != 2:
            return "invlearn.generators: missing or not the generators' states (a 2-D uint8 tensor)"
        for key, kinds in [("history", list), ("epoch_losses", list), ("epoch_hyper_seconds", (int, float))]:
            if not isinstance(own.get(key), kinds):
                return f"invlearn.{key}: missing or of the wrong type"
        if not all(isinstance(entry, dict) for entry in own["history"]):
            return "invlearn.history: not a list of per-epoch records"
        if own.get("hyper_optimizer") is not None and not isinstance(own["hyper_optimizer"], dict):
            return "invlearn.hyper_optimizer: not an optimizer's state"
        return None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # called on every process (Lightning's save is collective), so every rank's generator is kept
        states = self.generator.get_state().to(self.device)
        if self.trainer.world_size > 1:
            states = self.all_gather(states)
        checkpoint["invlearn"] = {
            "generators": states.reshape(self.trainer.world_size, -1).cpu(),
            "history": self.history,
            "epoch_losses": list(self._train_losses),
            "epoch_hyper_seconds": self._hyper_seconds,
            "hyper_optimizer": None if self._hyper_optimizer is None else self._hyper_optimizer.state_dict(),
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
        self._hyper_seconds = state.get("epoch_hyper_seconds", 0.0)
        self._hyper_state = state.get("hyper_optimizer")
