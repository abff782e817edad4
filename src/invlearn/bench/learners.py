"""``invlearn bench learners``: the cost of learning invariance on top of the trunk.

Rows (all on 128x3x32x32 images, the sprite CNN trunk with 4 classes):

* ``augnet_train_step``: forward+backward of AugNet's regularised loss with one layer of the five affine
  candidates of the sprites experiment, against the trunk's own step on the un-augmented batch (the floor).
* ``augerino_train_step``: the same for Augerino over the six affine generators.
* ``augnet_train_step_vs_input_grad`` / ``augerino_train_step_vs_input_grad``: the same steps against the
  trunk's step when it also computes the gradient w.r.t. its input, which any method that learns augmentation
  through the trunk must pay (the ratio is then what the augmentation itself adds).
* ``augnet_eval_c{C}`` / ``augerino_eval_c{C}`` for C in 1, 4, 10, 20: an evaluation forward with C copies
  (one batched call), against the trunk's evaluation forward on the same ``C * 128`` images, so the ratio is
  what sampling, warping and averaging the copies add; ``ms_median / C`` shows how the time grows with C.
* ``marglik_update`` / ``marglik_update_vs_augnet_step``: one update of the marginal-likelihood objective
  (:class:`~invlearn.objectives.MarginalLikelihood`, KFAC over every layer, 8 augmented copies per example,
  sampled labels; its loss and the gradient w.r.t. the ranges and the prior) for independent candidates over
  the sprites layer's transforms, against the trunk's step and against AugNet's step on the same batch. A
  run pays it once every ``marglik.every_n_steps`` weight steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from invlearn import augmentations
from invlearn.bench.timing import interleaved_medians, machine, pin_allocator, result_row
from invlearn.families.augerino import UniformLieAffine
from invlearn.families.augnet import AugmentationLayer
from invlearn.models import Augerino, AugNet, Independent, SpriteCNN
from invlearn.objectives import HyperStep, MarginalLikelihood
from invlearn.objectives.reward import regularized_loss

BATCH = (128, 3, 32, 32)
EVAL_COPIES = (1, 4, 10, 20)
SPRITE_CANDIDATES = ("translate_x", "translate_y", "rotate", "shear_x", "shear_y")
#: Augmented copies per example in the marginal-likelihood update (the objective's default).
MARGLIK_COPIES = 8


def sprite_augnet_layer() -> AugmentationLayer:
    """The sprites experiment's layer: translations, rotation (scale 180 degrees) and shears, mu0 = 1/8."""
    return AugmentationLayer(
        [
            augmentations.create(name, magnitude=0.125, **({"scale": math.pi} if name == "rotate" else {}))
            for name in SPRITE_CANDIDATES
        ]
    )


def _train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss_fn(model, x, y).backward()

    return step


def _eval_forward(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    @torch.no_grad()
    def forward() -> None:
        model(x)

    return forward


def run(repeats: int = 20, batch: tuple[int, ...] = BATCH, eval_copies: tuple[int, ...] = EVAL_COPIES) -> dict:
    """The ``learners`` suite as a JSON-serialisable dict (same schema as the ``ops`` suite)."""
    pin_allocator()
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, generator=generator)
    y = torch.randint(0, 4, (batch[0],), generator=generator)
    trunk = SpriteCNN()
    models = {
        "augnet": AugNet(trunk, sprite_augnet_layer()),
        "augerino": Augerino(trunk, UniformLieAffine(init_width=math.pi / 4)),
    }

    def trunk_loss(model, inputs, targets):
        return F.cross_entropy(model(inputs), targets)

    def learner_loss(model, inputs, targets):
        return regularized_loss(model(inputs), targets, model, lam=0.5)

    x_with_grad = x.clone().requires_grad_(True)

    def trunk_loss_with_input_grad(model, inputs, targets):
        x_with_grad.grad = None
        return trunk_loss(model, x_with_grad, targets)

    rows = []
    for name, model in models.items():
        model.train()
        steps = {
            "ours": _train_step(model, x, y, learner_loss),
            "trunk": _train_step(trunk, x, y, trunk_loss),
            "trunk_input_grad": _train_step(trunk, x, y, trunk_loss_with_input_grad),
        }
        medians = interleaved_medians(steps, repeats, block=2)
        rows.append(result_row(f"{name}_train_step", medians["ours"], "trunk_train_step", medians["trunk"]))
        rows.append(
            result_row(
                f"{name}_train_step_vs_input_grad",
                medians["ours"],
                "trunk_train_step_with_input_grad",
                medians["trunk_input_grad"],
            )
        )
    rows += _marglik_rows(trunk, models["augnet"], x, y, max(3, repeats // 4))
    trunk.eval()
    for name, model in models.items():
        model.eval()
        for copies in eval_copies:
            model.n_copies_eval = copies
            repeated = x.repeat(copies, 1, 1, 1)
            forwards = {"ours": _eval_forward(model, x), "trunk": _eval_forward(trunk, repeated)}
            eval_repeats = max(3, repeats // 4)
            medians = interleaved_medians(forwards, eval_repeats, warmup=1, block=eval_repeats)
            label = f"trunk_eval_on_{copies}x_batch"
            rows.append(result_row(f"{name}_eval_c{copies}", medians["ours"], label, medians["trunk"]))
    return {"suite": "learners", "machine": machine(), "torch": torch.__version__, "results": rows}


def _marglik_rows(trunk, augnet: AugNet, x: torch.Tensor, y: torch.Tensor, repeats: int) -> list[dict]:
    """The marginal-likelihood update against the trunk's and AugNet's training steps (see the module)."""
    candidates = [
        augmentations.create(c.name, magnitude=0.125, scale=c.scale) for c in augnet.augmentation.layers[0].candidates
    ]
    model = Independent(trunk, candidates).train()
    objective = MarginalLikelihood(copies=MARGLIK_COPIES)
    generator = torch.Generator().manual_seed(1)

    def update() -> None:
        objective.hyper_gradients(HyperStep(model, x, y, 10_000, generator))

    steps = {
        "ours": update,
        "trunk": _train_step(trunk, x, y, lambda m, i, t: F.cross_entropy(m(i), t)),
        "augnet": _train_step(augnet, x, y, lambda m, i, t: regularized_loss(m(i), t, m, lam=0.5)),
    }
    medians = interleaved_medians(steps, repeats, warmup=1, block=1)
    return [
        result_row("marglik_update", medians["ours"], "trunk_train_step", medians["trunk"]),
        result_row("marglik_update_vs_augnet_step", medians["ours"], "augnet_train_step", medians["augnet"]),
    ]
