"""The held-out objective: the augmentation is learned on the likelihood of data the weights have not seen.

When a trunk fits its training set perfectly, every training-set score of an invariance goes flat: the softmax
saturates, and with it the Laplace evidence's curvature and Occam term
(:class:`~invlearn.objectives.MarginalLikelihood`). A likelihood on held-out data stays informative: an invariant model
trained on part of the data predicts the rest better when its invariance is the data's (the idea behind the conditional
marginal likelihood of Lotfi et al., ICML 2022, and prequential code length, Blier and Ollivier, NeurIPS 2018). Here a
fixed, seeded part of the training set is kept from the weights; the weights train on the rest with the task's
conventional loss, and every ``every_n_steps`` weight steps the augmentation (and a regression's noise) takes a step of
its own Adam down

    ``mean_i nll_i  -  spread * extent``

where ``nll_i`` is the negative log-likelihood of held-out example ``i`` under the prediction averaged over
``copies`` augmented copies (a batch of the held-out part), ``extent`` the width of the augmentation
(:meth:`InvariantModel.extent <invlearn.models.InvariantModel.extent>`: the fraction of each transform's scale it
samples, summed), and ``spread`` how much the held-out score itself moves from one hyper-step to the next
(:class:`Spread`, from its recent successive differences: batch sampling and the weights' own training noise).

The second term is the Occam rule: among ranges that predict held-out data equally well, prefer the widest, where
"equally well" is measured by the score's own noise: a range change of a whole transform's scale is worth one
spread. It is needed because the gradient alone is biased towards narrow ranges: the weights are trained on the
current range, so any widening is judged by a model that has not seen the wider transforms yet, and shrinking is
never penalised (the short-horizon bias of greedy hyper-parameter steps). Measured on the sinusoids (frequency shift,
truth 0.25 of the scale): without the term, or with the held-out mean's standard error in place of the spread (far
smaller there), the learned shift collapsed to 0 in seed 0, though the held-out score of models trained at fixed
ranges is flat up to the truth; with the spread it ended at 0.19 to 0.30 in 5 of 5 seeds. The same term costs
where the held-out score is noisy against what a harmful range costs (QM9, EEG across subjects): it widens every
range there; ``occam="none"`` is the held-out likelihood alone. ``implicit`` adds the missing part of the gradient
itself: the response of weights trained to convergence on the ranges, by implicit differentiation
(:mod:`~invlearn.objectives.implicit`).

``occam="tolerance"`` replaces the weighted term by a level comparison (:mod:`~invlearn.objectives.tolerance`): the
ranges widen as long as their held-out score, on a fixed part of the held-out set and paired unit by unit with the
best ranges seen under the same augmentation draw, stays within one standard error of the paired difference.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from collections import deque

import torch
from torch import Tensor, nn

from invlearn._validation import check_choice, check_copies, check_count, check_positive, check_unit_interval
from invlearn.augmentations import Augmentation
from invlearn.objectives.base import checked_likelihood
from invlearn.objectives.bilevel import BilevelObjective
from invlearn.objectives.implicit import implicit_response
from invlearn.objectives.likelihoods import Categorical, Likelihood, at_each_noise, n_noises
from invlearn.objectives.tolerance import Tolerance, paired_gap

#: ``occam``: the one-standard-error rule, the ``- spread * extent`` term (the default), or none.
OCCAM_RULES = ("tolerance", "spread", "none")


def _check_fraction(fraction: float) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    return float(fraction)


class Spread:
    """How much a score moves from one hyper-step to the next: ``sqrt(m / 2)`` where ``m`` is an exponential moving
    average of its squared successive differences (each new one weighs ``1 - decay``). For independent values of
    standard deviation ``s`` that is ``s``; a slow trend (the score falling while the weights train) adds only its
    small step-to-step change."""

    def __init__(self, decay: float = 0.9) -> None:
        self.decay = decay
        self.steps, self.last, self.mean_square = 0, 0.0, 0.0

    def update(self, value: float) -> float:
        """Take the latest value; returns the spread so far (0 after the first)."""
        if self.steps:
            square = (value - self.last) ** 2
            self.mean_square = square if self.steps == 1 else self.decay * self.mean_square + (1 - self.decay) * square
        self.steps, self.last = self.steps + 1, value
        return math.sqrt(self.mean_square / 2)

    def state(self) -> dict:
        return {"steps": self.steps, "last": self.last, "mean_square": self.mean_square}

    def load(self, state: dict) -> None:
        self.steps, self.last, self.mean_square = state["steps"], state["last"], state["mean_square"]


#: A normal variable's median absolute value in standard deviations; a successive difference of independent values
#: of standard deviation ``s`` has standard deviation ``s * sqrt(2)``.
_MEDIAN_ABSOLUTE_DIFFERENCE = 0.6744897501960817 * math.sqrt(2)


class MedianSpread:
    """:class:`Spread` from the median of the last ``window`` absolute successive differences instead of their mean
    square: ``median |d| / (0.6745 * sqrt(2))``, which is ``s`` for independent normal values of standard deviation
    ``s``. One outlying value (a held-out batch that one weight step got wrong) makes two large differences, which
    move a median of ``window`` little; in a mean square one such value can outweigh the rest for tens of steps."""

    def __init__(self, window: int = 20) -> None:
        self.steps, self.last, self.differences = 0, 0.0, deque(maxlen=window)

    def update(self, value: float) -> float:
        """Take the latest value; returns the spread so far (0 after the first)."""
        if self.steps:
            self.differences.append(abs(value - self.last))
        self.steps, self.last = self.steps + 1, value
        return statistics.median(self.differences) / _MEDIAN_ABSOLUTE_DIFFERENCE if self.differences else 0.0

    def state(self) -> dict:
        return {"steps": self.steps, "last": self.last, "differences": list(self.differences)}

    def load(self, state: dict) -> None:
        self.steps, self.last = state["steps"], state["last"]
        self.differences = deque(state["differences"], maxlen=self.differences.maxlen)


_TWO_RESPONSES = "response and implicit are two estimates of the weights' response: choose one"

#: ``class_weight``: how a classifier's held-out examples are weighed (``None``: alike).
CLASS_WEIGHTS = ("balanced",)

#: ``part``: the held-out examples a hyper-step of the ``spread`` or ``none`` rule scores.
HELD_OUT_PARTS = ("batches", "fixed")

#: ``spread``: how the Occam term's spread is estimated from the held-out score's successive differences.
SPREADS = {"mean": Spread, "median": MedianSpread}


class HeldOut(BilevelObjective):
    """The held-out likelihood with an Occam rule (see the module). Its ``hyper_values()`` for ``metrics.json``
    are the last hyper-step's held-out NLL per example (``held_out_nll``) and: with ``occam="spread"`` or
    ``"none"``, the standard error of the held-out part's mean NLL estimated from the batch (``held_out_se``) and the
    spread that weighs the Occam term (``held_out_noise``); with ``"tolerance"``, the paired gap to the best ranges
    seen (``held_out_gap``), its standard error (``held_out_se``) and the dual variable (``dual``).

    Args:
        fraction: the fraction of the training set kept from the weights, in ``(0, 1)``.
        copies: augmented copies ``S`` per held-out example in the hyper-step's prediction.
        every_n_steps: weight steps between two hyper-steps.
        burn_in_epochs: epochs of weight training before the first hyper-step.
        lr: Adam's learning rate of the hyper-step.
        batch_size: held-out examples per hyper-step (with ``occam="tolerance"``: the size of the fixed part
            scored at every hyper-step).
        occam: the Occam rule: ``"spread"`` (``- spread * extent``), ``"tolerance"`` (the one-standard-error
            rule, :mod:`~invlearn.objectives.tolerance`) or ``"none"`` (the held-out likelihood alone: better than
            ``"spread"`` where the held-out score is noisy against what a harmful range costs, as on QM9, where the
            term grew the shift and zoom to full; worse where only the term holds a range up, as the sinusoids'
            frequency shift, which collapsed in one of five seeds).
        spread: with ``occam="spread"``, how the spread is estimated from the held-out score's successive
            differences: their exponentially weighted root mean square (``"mean"``) or the median of the last 20
            (``"median"``, scaled to a standard deviation): one outlying hyper-step, whose held-out NLL jumped
            from 0 to 8.4 and back on sprites, made the mean's spread 1.9 and pushed every range to its maximum.
        part: with ``occam="spread"`` or ``"none"``, the held-out examples a hyper-step scores: the next batch of
            ``batch_size`` of shuffled passes over the held-out set (``"batches"``; a pass's last batch holds what is
            left: 2 examples where 50 are held out in batches of 16), or always the same fixed part of
            ``batch_size`` examples drawn once (``"fixed"``, as ``"tolerance"`` does): the score's successive
            differences are then paired, and its spread is how the same examples' score moves, not which examples
            a batch drew.
        response: score the held-out part at the weights after the step their optimizer would take now on the
            training batch (:func:`~invlearn.objectives.virtual_step`), so that the hyper-gradient follows the
            weights' response to the ranges (DADA's one unrolled step) besides its direct term; needs the
            :class:`~invlearn.objectives.HyperStep`'s optimizer.
        implicit: with more than 0, add to the ranges' hyper-gradient the weights' response by implicit
            differentiation (:func:`~invlearn.objectives.implicit.implicit_response`) with this many Neumann terms
            (one Hessian-vector product of the training batch's loss each; MADAO's 5): the response of weights
            trained to convergence on the ranges, rather than of the one step of ``response``. Like ``response``,
            it computes the training batch's loss once more per hyper-step (a trunk's batch norm statistics see
            that batch once more).
        temperature: score a classifier's held-out predictive at a temperature learned with the ranges (the
            categorical's counterpart of a regression's learned noise): an over-confident model's held-out NLL is
            then not mistaken for a worse invariance. A regression has none (its noise is learned instead).
        refit: the fraction of a run's epochs, at its end, in which the ranges stay as learned and the weights
            train on every training example, the held-out part included (0: the held-out part never reaches the
            weights); its epochs draw as many examples as the others, from all of them. invlearn's trainer applies
            it; in a loop of your own, stop the hyper-steps and add the held-out examples to the weights' batches.
        floor: with ``occam="tolerance"``, the tolerance's least value as a fraction of the best ranges' held-out
            NLL per example (``tol = max(se, floor * nll(best))``): where the score saturates, its standard error
            goes to 0 and any wider range would break a tolerance of one standard error.
        group: the per-example fact whose values are the independent units (``"recording"``: a sleep epoch's
            subject): the held-out part is drawn as whole groups, so the objective asks what the test asks (new
            subjects), and the one-standard-error rule counts groups, not examples.
        class_weight: ``"balanced"``: a classifier's held-out score weighs each class present in the scored part
            alike (each example by the inverse of its class's count there, as scikit-learn's
            ``class_weight="balanced"``), so that it asks what a balanced accuracy asks; ``None``: each example
            alike. Classification only (one class per example).
        margin: the weights train at the ranges widened by this much (every magnitude and probability plus
            ``margin``, at most 1: a fraction of each candidate's largest range), so that the held-out score judges
            ranges the weights have seen a little beyond, a range at 0 included (0: at the ranges themselves). The
            candidates' magnitudes and probabilities only (AugNet's and independent candidates'; not Augerino's
            widths).
        likelihood: the task's likelihood (default: categorical); the weights train on its conventional loss, and
            its own parameters (a regression's noise) are learned with the augmentation.

    Raises:
        ValueError: a fraction outside ``(0, 1)``, a count below 1 (``burn_in_epochs`` below 0), an unknown
            ``occam`` rule, ``spread`` estimate or ``part``, a learning rate that is not a finite number above 0,
            a ``floor``, ``refit`` or ``margin`` outside ``[0, 1]``, both ``response`` and ``implicit``, an unknown
            ``class_weight`` or one with a likelihood that is not categorical.
        TypeError: a ``response`` or ``temperature`` that is not a bool, a ``group`` that is not a string or ``None``.
    """

    config_defaults = {"batch_size": "trainer.batch_size"}

    @classmethod
    def task_problem(cls, settings, task):
        if settings["response"] and settings["implicit"]:
            return "implicit", _TWO_RESPONSES
        if settings["class_weight"] is not None and task != "classification":
            return "class_weight", f"weighs classes of a classification (one class per example), not a {task}"
        return None

    def __init__(
        self,
        fraction: float = 0.2,
        copies: int = 4,
        every_n_steps: int = 4,
        burn_in_epochs: int = 1,
        lr: float = 0.05,
        batch_size: int = 128,
        occam: str = "spread",
        spread: str = "mean",
        part: str = "batches",
        response: bool = False,
        implicit: int = 0,
        floor: float = 0.05,
        temperature: bool = False,
        refit: float = 0.0,
        group: str | None = None,
        class_weight: str | None = None,
        margin: float = 0.0,
        likelihood: Likelihood | None = None,
    ) -> None:
        super().__init__(batch_size)
        self.likelihood = checked_likelihood(likelihood)
        self.held_out_fraction = _check_fraction(fraction)
        self.copies = check_copies(copies, "copies")
        self.every_n_steps = check_count(every_n_steps, "every_n_steps")
        self.burn_in_epochs = check_count(burn_in_epochs, "burn_in_epochs", minimum=0)
        self.refit = check_unit_interval(refit, "refit")
        self.lr = check_positive(lr, "lr")
        self.occam = check_choice(occam, "occam", OCCAM_RULES)
        if not isinstance(response, bool):
            raise TypeError(f"response must be true or false, got {response!r}")
        self.response = response
        self.implicit = check_count(implicit, "implicit", minimum=0)
        if response and self.implicit:
            raise ValueError(_TWO_RESPONSES)
        if group is not None and not isinstance(group, str):
            raise TypeError(f"group must be the name of a per-example fact or None, got {group!r}")
        self.held_out_group = group
        if class_weight is not None:
            check_choice(class_weight, "class_weight", CLASS_WEIGHTS)
            if not isinstance(self.likelihood, Categorical):
                raise ValueError("class_weight weighs the classes of a categorical likelihood")
        self.class_weight = class_weight
        self.margin = check_unit_interval(margin, "margin")
        if not isinstance(temperature, bool):
            raise TypeError(f"temperature must be true or false, got {temperature!r}")
        categorical = isinstance(self.likelihood, Categorical)
        self.log_temperature = nn.Parameter(torch.zeros(())) if temperature and categorical else None
        self._last = {"held_out_nll": math.nan, "held_out_se": math.nan}
        self.spread = check_choice(spread, "spread", tuple(SPREADS))
        self._spread = SPREADS[self.spread]()
        self.part = check_choice(part, "part", HELD_OUT_PARTS)
        self._tolerance = Tolerance(floor=check_unit_interval(floor, "floor"))
        self._units: tuple[Tensor, Tensor] | None = None
        self._unit_groups: Tensor | None = None

    def hold_out(self, inputs, targets, seed, groups=None, classes=None):
        super().hold_out(inputs, targets, seed, groups, classes)
        rows = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(seed))[: self.batch_size]
        self._units = inputs[rows], targets[rows]  # the fixed part (part="fixed" and the tolerance rule)
        self._unit_groups = None if groups is None else groups[rows]

    @contextlib.contextmanager
    def training_ranges(self, model):
        """Within it, the ranges the weights train at: each magnitude and probability plus ``margin``."""
        if not self.margin:  # every weight step passes here: nothing to enumerate by default
            yield
            return
        strengths = (m.strength_parameter for m in model.augmentation.modules() if isinstance(m, Augmentation))
        ranges = [p for p in strengths if p.requires_grad]
        kept = [p.detach().clone() for p in ranges]
        with torch.no_grad():
            for p in ranges:
                p.add_(self.margin).clamp_(max=1.0)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, value in zip(ranges, kept, strict=True):
                    p.copy_(value)

    def weights_loss(self, model, output, target, n_data):
        return self.likelihood.loss(output, target)

    def hyper_parameters(self, model):
        augmentation = [p for p in model.augmentation.parameters() if p.requires_grad]
        return [*augmentation, *self._own_parameters()]

    def _own_parameters(self) -> list[nn.Parameter]:
        """The likelihood's learned values (a regression's noise) and the held-out temperature, if learned."""
        own = list(self.likelihood.parameters())
        return own if self.log_temperature is None else [*own, self.log_temperature]

    def _held_out_nll(self, output: Tensor, target: Tensor) -> Tensor:
        """``(B,)`` held-out NLL per example, of the predictive tempered by the learned temperature, if any."""
        if self.log_temperature is not None:
            output = output / self.log_temperature.exp().to(output.device, output.dtype)
        per_example = self.likelihood.nll_per_example(output, target)
        if self.class_weight is None:
            return per_example
        if target.ndim != 1:
            raise ValueError(f"class_weight needs one class per example, got targets of shape {tuple(target.shape)}")
        counts = torch.bincount(target).to(per_example.dtype)
        return per_example * (len(target) / (int((counts > 0).sum()) * counts[target]))

    def hyper_step_due(self, epoch, step):
        return epoch >= self.burn_in_epochs and step % self.every_n_steps == 0

    def hyper_gradients(self, step):
        if self.occam == "tolerance":
            return self._constrained_gradients(step)
        if not self.implicit:
            return super().hyper_gradients(step)
        loss = self.hyper_loss(step)
        return float(loss.detach()), self._gradients(step, loss, loss)

    def _constrained_gradients(self, step) -> tuple[float, list[Tensor | None]]:
        """The one-standard-error rule's step: the ranges descend ``dual * fit - extent``, the likelihood's own
        values ``fit``."""
        model = step.model
        x, y = self._fixed_part(step.x.device)
        weights = self._responded(step)
        draw = model.draw(x, self.copies, step.generator)
        current = self._held_out_nll(model.predict(x, self.copies, draw=draw, weights=weights), y)
        fixed = None if weights is None else {name: w.detach() for name, w in weights.items()}
        with torch.no_grad(), self._tolerance.at_best(model):
            best = self._held_out_nll(model.predict(x, self.copies, draw=draw, weights=fixed), y)
        gap, se = paired_gap(current, best, self._unit_groups)
        dual = self._tolerance.update(model, gap, se, float(best.mean()))
        fit = current.mean()
        lagrangian = dual * fit - model.extent().to(fit.device)
        grads = self._gradients(step, lagrangian, fit)
        self._last = {"held_out_nll": float(fit.detach()), "held_out_gap": gap, "held_out_se": se, "dual": dual}
        return float(fit.detach()), grads

    def _gradients(self, step, ranges_loss: Tensor, own_loss: Tensor) -> list[Tensor | None]:
        """One gradient per ``hyper_parameters`` entry: the ranges' of ``ranges_loss`` (``_range_gradients``),
        then the likelihood's own values' (and the temperature's) of ``own_loss``."""
        own = self._own_parameters()
        grads = self._range_gradients(step, ranges_loss, retain_graph=bool(own))
        own_grads = torch.autograd.grad(own_loss, own, allow_unused=True) if own else ()
        return [*grads, *own_grads]

    def _range_gradients(self, step, loss: Tensor, retain_graph: bool) -> list[Tensor | None]:
        """The gradient of the hyper-step's ``loss`` in the ranges and, with ``implicit``, the weights' response
        to them (:func:`~invlearn.objectives.implicit.implicit_response`, ``loss`` standing for the held-out
        loss: its gradient in the weights is the held-out gradient's)."""
        ranges = [p for p in step.model.augmentation.parameters() if p.requires_grad]
        if not ranges:
            return []
        if not self.implicit:
            return list(torch.autograd.grad(loss, ranges, retain_graph=retain_graph, allow_unused=True))
        weights = [w for w in step.model.trunk.parameters() if w.requires_grad]
        grads = torch.autograd.grad(loss, [*ranges, *weights], retain_graph=retain_graph, allow_unused=True)
        direct, held_out = grads[: len(ranges)], grads[len(ranges) :]
        held_out = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, held_out, strict=True)]
        training_loss = step.training_loss(self.weights_loss)
        indirect = implicit_response(training_loss, weights, held_out, ranges, self.implicit)
        return [d if i is None else i if d is None else d + i for d, i in zip(direct, indirect, strict=True)]

    def _responded(self, step) -> dict[str, Tensor] | None:
        """The trunk's weights after its optimizer's step on the training batch, differentiable in the ranges
        (``None`` without ``response``)."""
        return step.stepped_weights(self.weights_loss) if self.response else None

    def _scored_part(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """The held-out examples this hyper-step scores (``part``)."""
        return self.held_out_batch(device) if self.part == "batches" else self._fixed_part(device)

    def _fixed_part(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """The fixed part of the held-out set (``batch_size`` examples drawn once by :meth:`hold_out`)."""
        if self._units is None:
            raise RuntimeError("HeldOut needs held-out examples (hold_out) before its first hyper-step")
        return self._units[0].to(device), self._units[1].to(device)

    def hyper_loss(self, step):
        if self.occam == "tolerance":
            raise TypeError("the one-standard-error rule is a constrained step: use hyper_gradients or hyper_backward")
        model = step.model
        weights = self._responded(step)
        held_x, held_y = self._scored_part(step.x.device)
        predicted = model.predict(held_x, self.copies, step.generator, weights=weights)
        per_example = self._held_out_nll(predicted, held_y)
        fit = per_example.mean()
        spread = per_example.detach().std() if len(per_example) > 1 else torch.zeros((), device=fit.device)
        se = spread / math.sqrt(self.n_held_out)
        noise = self._spread.update(float(fit.detach()))
        self._last = {"held_out_nll": float(fit.detach()), "held_out_se": float(se), "held_out_noise": noise}
        if self.occam == "none":
            return fit
        return fit - noise * model.extent().to(fit.device)

    def evidence(self, model, fitted, held, n_data, batch, copies, generator):
        """The mean log-likelihood per example of the ``held`` examples under the prediction averaged over
        ``copies`` augmented copies, in batches of ``batch``; for a Gaussian likelihood at the noise of
        :data:`~invlearn.objectives.likelihoods.NOISE_GRID` that maximises it."""
        likelihood = type(self.likelihood)().double()
        x, y = held
        totals = torch.zeros(n_noises(likelihood), dtype=torch.float64)
        with torch.no_grad():
            for start in range(0, len(y), batch):
                output = model.predict(x[start : start + batch], copies, generator).double()
                for i, _ in at_each_noise(likelihood):
                    totals[i] += likelihood.nll_per_example(output, y[start : start + batch]).sum()
        return float(-(totals / len(y)).min())

    def hyper_values(self) -> dict[str, float]:
        """The last hyper-step's held-out NLL per example and its standard error, and the likelihood's values."""
        tempered = {} if self.log_temperature is None else {"temperature": float(self.log_temperature.detach().exp())}
        return {**self._last, **self.likelihood.hyper_values(), **tempered}

    def get_extra_state(self) -> dict:
        own = {"last": dict(self._last), "spread": self._spread.state(), "tolerance": self._tolerance.state()}
        return {**super().get_extra_state(), **own}

    def set_extra_state(self, state: dict) -> None:
        super().set_extra_state(state)
        self._last = dict(state["last"])
        self._spread.load(state["spread"])
        self._tolerance.load(state["tolerance"])

    def extra_repr(self) -> str:
        return (
            f"fraction={self.held_out_fraction:g}, copies={self.copies}, every_n_steps={self.every_n_steps}, "
            f"burn_in_epochs={self.burn_in_epochs}, lr={self.lr:g}, batch_size={self.batch_size}, "
            f"occam={self.occam!r}, spread={self.spread!r}, part={self.part!r}, response={self.response}, "
            f"implicit={self.implicit}, "
            f"floor={self._tolerance.floor:g}, "
            f"temperature={self.log_temperature is not None}, refit={self.refit:g}, "
            f"group={self.held_out_group!r}, class_weight={self.class_weight!r}, margin={self.margin:g}"
        )
