"""The held-out objective: its hyper-loss against an exact reference, its gradient against finite differences, the
Occam term, every family's extent, its schedule, state and refusals."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import Augerino, AugmentationLayer, AugNet, Independent, UniformLieAffine
from invlearn.objectives import Categorical, Gaussian, HeldOut, HyperStep
from invlearn.objectives.heldout import MedianSpread, Spread
from tests.conftest import make_augmentation, make_input, seeded
from tests.learners import FAMILIES, TinyImageTrunk, family_model, hypergradient_and_finite_difference


def _case(occam: str = "spread"):
    """A float64 linear trunk behind one brightness range, the objective and its held-out set of 5."""
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 3)).double()
    model = Independent(trunk, [make_augmentation("brightness", 0.4)]).double()
    objective = HeldOut(copies=3, batch_size=5, occam=occam)
    held = make_input("image", torch.float64, batch=5, seed=1), torch.tensor([2, 1, 0, 1, 0])
    objective.hold_out(*held, seed=0)
    return model, objective, held


def test_the_hyper_loss_is_the_held_out_nll_of_the_copy_average_minus_its_spread_times_the_extent():
    model, objective, held = _case()
    _, replay, _ = _case()
    train_x = make_input("image", torch.float64, batch=2)  # the training batch is not what it scores
    fits = []
    for step in range(2):
        x, y = replay.held_out_batch(torch.device("cpu"))  # the batch the objective draws: the whole set, shuffled
        loss = objective.hyper_loss(HyperStep(model, train_x, torch.tensor([0, 1]), 100, seeded(step))).detach()
        log_p = torch.log_softmax(model.predict(x, 3, seeded(step)), dim=1).detach()
        per_example = -log_p[torch.arange(5), y]
        fits.append(float(per_example.mean()))
        spread = 0.0 if step == 0 else abs(fits[1] - fits[0]) / math.sqrt(2)  # the first difference
        assert float(loss) == pytest.approx(fits[-1] - spread * float(model.extent().detach()), rel=1e-12)
        values = objective.hyper_values()
        assert values["held_out_nll"] == pytest.approx(fits[-1], rel=1e-12)
        assert values["held_out_se"] == pytest.approx(float(per_example.std() / math.sqrt(5)), rel=1e-12)
        assert values["held_out_noise"] == pytest.approx(spread, rel=1e-12, abs=1e-15)
    assert fits[0] != fits[1]


def test_the_spread_is_the_root_of_half_the_mean_squared_successive_difference():
    spread = Spread(decay=0.5)
    assert spread.update(1.0) == 0.0
    assert spread.update(3.0) == pytest.approx(math.sqrt(4 / 2))  # the first difference sets the average
    assert spread.update(2.0) == pytest.approx(math.sqrt((0.5 * 4 + 0.5 * 1) / 2))
    again = Spread(decay=0.5)
    again.load(spread.state())
    assert again.update(7.0) == spread.update(7.0) == pytest.approx(math.sqrt((0.5 * 2.5 + 0.5 * 25) / 2))
    trend = Spread()
    assert [round(trend.update(10.0 - 0.1 * step), 9) for step in range(4)][-1] == pytest.approx(0.1 / math.sqrt(2))


def test_the_median_spread_is_the_scaled_median_absolute_successive_difference_and_shrugs_off_one_outlier():
    spread = MedianSpread(window=3)
    assert spread.update(1.0) == 0.0
    scale = 0.6744897501960817 * math.sqrt(2)
    assert [spread.update(value) for value in (2.0, 4.0)] == pytest.approx([1 / scale, 1.5 / scale])
    again = MedianSpread(window=3)
    again.load(spread.state())
    assert again.update(3.0) == spread.update(3.0) == pytest.approx(1 / scale)  # differences 1, 2, 1
    assert spread.update(7.0) == pytest.approx(2 / scale)  # the window of 3 keeps 2, 1, 4
    values = (0.1 * torch.randn(41, generator=seeded(0), dtype=torch.float64)).tolist()
    values[30] = 8.4  # one outlying hyper-step
    mean, median = Spread(), MedianSpread()
    for value in values[:30]:
        before = mean.update(value), median.update(value)
    after = [(mean.update(value), median.update(value)) for value in values[30:]]
    assert min(m for m, _ in after) > 10 * before[0]  # the mean square's spread stays inflated for 10 steps
    assert max(m for _, m in after) < 2.5 * before[1]  # the median of 20 moves within its own sampling noise
    long = MedianSpread(window=4000)
    normal = (0.3 * torch.randn(4001, generator=seeded(1), dtype=torch.float64)).tolist()
    assert [long.update(value) for value in normal][-1] == pytest.approx(0.3, rel=0.05)


def test_a_fixed_part_scores_the_same_held_out_examples_at_every_hyper_step():
    model, _, (x, y) = _case(occam="none")
    rows = torch.randperm(5, generator=torch.Generator().manual_seed(3))[:2]  # the part hold_out(seed=3) draws
    with torch.no_grad():
        log_p = torch.log_softmax(model.predict(x[rows], 3, seeded(7)), dim=1)
    expected = float(-log_p[torch.arange(2), y[rows]].mean())
    values = {}
    for part in ("fixed", "batches"):
        objective = HeldOut(copies=3, batch_size=2, occam="none", part=part)
        objective.hold_out(x, y, seed=3)
        steps = [HyperStep(model, x[:1], y[:1], 10, seeded(7)) for _ in range(3)]  # the same augmentation draw
        values[part] = [float(objective.hyper_loss(step).detach()) for step in steps]
    assert values["fixed"] == pytest.approx([expected] * 3, rel=1e-12)
    assert len(set(values["batches"])) == 3  # a new batch each step: 2, 2 and the pass's last 1 example


def test_without_the_occam_term_it_is_the_held_out_nll_alone():
    model, objective, _ = _case(occam="none")
    model_x = make_input("image", torch.float64, batch=1)
    loss = objective.hyper_loss(HyperStep(model, model_x, torch.tensor([0]), 100, seeded(0)))
    assert float(loss.detach()) == pytest.approx(objective.hyper_values()["held_out_nll"], rel=1e-12)


def test_the_held_out_nll_gradient_matches_finite_differences():
    model, objective, held = _case(occam="none")
    x = make_input("image", torch.float64, batch=1)
    grad, numerical = hypergradient_and_finite_difference(model, objective, held, x, torch.tensor([0]), 10)
    assert abs(grad) > 1e-6 and grad == pytest.approx(numerical, rel=1e-5)
    assert objective.hyper_parameters(model) == [model.augmentation.candidates[0]._magnitude]


def test_the_occam_term_pushes_every_range_up_by_one_spread_per_scale():
    with_occam, without = _case("spread"), _case("none")
    grads = []
    for model, objective, _ in (with_occam, without):
        magnitude = model.augmentation.candidates[0]._magnitude
        x = make_input("image", torch.float64, batch=1)
        objective.hyper_loss(HyperStep(model, x, torch.tensor([0]), 10, seeded(1)))  # a first value: no spread yet
        loss = objective.hyper_loss(HyperStep(model, x, torch.tensor([0]), 10, seeded(0)))
        grads.append(float(torch.autograd.grad(loss, [magnitude])[0]))
    spread = with_occam[1].hyper_values()["held_out_noise"]
    assert spread > 0 and grads[0] == pytest.approx(grads[1] - spread, rel=1e-9)


def test_each_family_has_an_extent_in_fractions_of_its_scales():
    trunk = TinyImageTrunk()
    candidates = [make_augmentation("rotate", 0.3), make_augmentation("translate_x", 0.2)]
    assert float(Independent(trunk, candidates).extent().detach()) == pytest.approx(0.5)
    layer = AugmentationLayer(candidates)
    weights = layer.weights.detach()
    assert float(AugNet(trunk, layer).extent().detach()) == pytest.approx(float(0.3 * weights[0] + 0.2 * weights[1]))
    # a rotation width of 2 pi samples +-pi, the full circle: extent 1; +-0.25 of the width is half of half the image
    augerino = Augerino(
        trunk, UniformLieAffine(init_width=[2 * math.pi, 0.5 / 0.05], generators=["rotate", "translate_x"])
    )
    assert float(augerino.extent().detach()) == pytest.approx(1.0 + 0.5, rel=1e-5)
    assert float(Independent(trunk, ["rotate"]).extent().detach()) >= 0


@pytest.mark.parametrize("family", FAMILIES)
def test_the_held_out_objective_trains_every_family(family):
    model = family_model(family)
    objective = HeldOut(copies=2, batch_size=4)
    objective.hold_out(torch.rand(6, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2]), seed=0)
    parameters = objective.hyper_parameters(model)
    grads = torch.autograd.grad(
        objective.hyper_loss(HyperStep(model, torch.rand(2, 3, 8, 8), None, 60, seeded(0))),
        parameters,
    )
    assert all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert {id(p) for p in model.augmentation.parameters()} == {id(p) for p in parameters}


def test_a_regression_learns_its_noise_on_held_out_data_and_the_weights_its_conventional_loss():
    likelihood = Gaussian(0.5)
    objective = HeldOut(likelihood=likelihood)
    model = Independent(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 1)), ["brightness"])
    assert objective.hyper_parameters(model)[-1] is likelihood.log_noise_std
    output, target = torch.randn(4, 1), torch.randn(4)
    assert torch.equal(objective.weights_loss(model, output, target, 10), likelihood.loss(output, target))


@pytest.mark.parametrize("likelihood", [Categorical(), Gaussian(0.7)])
def test_the_per_example_nll_averages_to_the_nll(likelihood):
    if isinstance(likelihood, Categorical):
        output, target = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randint(0, 3, (5, 4, 4))
    else:
        output, target = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    with torch.no_grad():  # a Gaussian's noise is a parameter
        per_example, nll = likelihood.nll_per_example(output, target), likelihood.nll(output, target)
    assert per_example.shape == (5,)
    assert float(per_example.mean()) == pytest.approx(float(nll), rel=1e-12)


def test_the_schedule_waits_for_the_burn_in_then_steps_every_n():
    objective = HeldOut(every_n_steps=3, burn_in_epochs=2)
    assert not objective.hyper_step_due(1, 3)
    assert [objective.hyper_step_due(2, step) for step in range(1, 7)] == [False, False, True, False, False, True]


def test_the_state_of_its_batches_and_last_scores_survives_a_checkpoint():
    model, objective, held = _case()
    objective.hyper_loss(
        HyperStep(
            model,
            make_input("image", torch.float64, batch=1),
            torch.tensor([0]),
            10,
            seeded(0),
        )
    )
    state = objective.get_extra_state()
    resumed = HeldOut(copies=3, batch_size=5)
    resumed.hold_out(*held, seed=7)
    resumed.set_extra_state(state)
    assert resumed.hyper_values() == objective.hyper_values()
    assert torch.equal(resumed.held_out_batch(torch.device("cpu"))[1], objective.held_out_batch(torch.device("cpu"))[1])
    assert resumed.n_held_out == 5 and resumed.held_out_fraction == 0.2


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"fraction": 0.0}, "fraction"),
        ({"fraction": 1.0}, "fraction"),
        ({"fraction": math.nan}, "fraction"),
        ({"fraction": True}, "fraction"),
        ({"copies": 0}, "copies"),
        ({"every_n_steps": 0}, "every_n_steps"),
        ({"burn_in_epochs": -1}, "burn_in_epochs"),
        ({"lr": math.inf}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"likelihood": "categorical"}, "likelihood"),
        ({"temperature": 1}, "temperature"),
        ({"spread": "max"}, "spread"),
        ({"part": "all"}, "part"),
        ({"class_weight": "inverse"}, "class_weight"),
        ({"margin": 1.5}, "margin"),
        ({"class_weight": "balanced", "likelihood": Gaussian()}, "class_weight"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises((TypeError, ValueError), match=message):
        HeldOut(**settings)


def test_with_the_response_the_gradient_follows_the_weights_step_exactly():
    """``response=True``: the held-out NLL at the weights after their optimizer's step, whose gradient in the range
    (direct term and the weights' response) matches finite differences; without an optimizer it says what it needs."""
    model, objective, held = _case("none")
    objective.response = True
    weights = torch.optim.SGD(model.trunk.parameters(), lr=0.5, momentum=0.9)
    x, y = make_input("image", torch.float64, batch=4), torch.tensor([0, 1, 2, 0])
    magnitude = model.augmentation.candidates[0]._magnitude

    def loss() -> torch.Tensor:
        objective.hold_out(*held, seed=0)
        return objective.hyper_loss(HyperStep(model, x, y, 10, seeded(2), weights))

    (grad,) = torch.autograd.grad(loss(), [magnitude])
    values = []
    for shift in (1e-6, -2e-6, 1e-6):
        with torch.no_grad():
            magnitude += shift
        values.append(float(loss().detach()))
    assert float(grad) == pytest.approx((values[0] - values[1]) / 2e-6, rel=1e-5)
    objective.response = False
    objective.hold_out(*held, seed=0)
    (direct,) = torch.autograd.grad(objective.hyper_loss(HyperStep(model, x, y, 10, seeded(2))), [magnitude])
    assert float(grad) != pytest.approx(float(direct))  # the weights' response adds to the direct term
    objective.response = True
    with pytest.raises(RuntimeError, match=r"give HyperStep\(optimizer=\)"):
        objective.hyper_loss(HyperStep(model, x, y, 10, seeded(2)))


def test_a_learned_temperature_tempers_the_held_out_predictive_and_is_learned_with_the_ranges():
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 3)).double()
    model = Independent(trunk, [make_augmentation("brightness", 0.4)]).double()
    objective = HeldOut(copies=3, batch_size=5, occam="none", temperature=True).double()
    held = make_input("image", torch.float64, batch=5, seed=1), torch.tensor([2, 1, 0, 1, 0])
    objective.hold_out(*held, seed=0)
    magnitude = model.augmentation.candidates[0]._magnitude
    assert objective.hyper_parameters(model) == [magnitude, objective.log_temperature]
    with torch.no_grad():
        objective.log_temperature.fill_(math.log(2.5))
    _, replay, _ = _case(occam="none")
    x, y = replay.held_out_batch(torch.device("cpu"))  # the batch the objective draws (the same seed)
    step = HyperStep(model, make_input("image", torch.float64, batch=1), torch.tensor([0]), 10, seeded(4))
    value, (range_grad, temperature_grad) = objective.hyper_gradients(step)

    def reference(log_temperature):
        output = model.predict(x, 3, seeded(4)) / log_temperature.exp()
        return -torch.log_softmax(output, dim=1)[torch.arange(5), y].mean()

    log_t = objective.log_temperature.detach().clone().requires_grad_()
    expected = reference(log_t)
    assert value == pytest.approx(float(expected.detach()), rel=1e-12)
    assert objective.hyper_values()["temperature"] == pytest.approx(2.5)
    assert float(temperature_grad) == pytest.approx(float(torch.autograd.grad(expected, [log_t])[0]), rel=1e-10)
    assert float(range_grad) == pytest.approx(float(torch.autograd.grad(reference(log_t), [magnitude])[0]), rel=1e-10)


def test_a_regression_has_no_temperature_its_noise_is_learned_instead():
    objective = HeldOut(temperature=True, likelihood=Gaussian())
    assert objective.log_temperature is None and "temperature" not in objective.hyper_values()


def test_balanced_class_weights_give_each_class_of_the_scored_part_the_same_weight():
    """Held-out classes 2, 1, 0, 1, 0: the score is the mean over the three classes of each one's mean NLL, and its
    gradient in the range is that mean's."""
    model, _, _ = _case(occam="none")
    objective = HeldOut(copies=3, batch_size=5, occam="none", class_weight="balanced")
    held = make_input("image", torch.float64, batch=5, seed=1), torch.tensor([2, 1, 0, 1, 0])
    objective.hold_out(*held, seed=0)
    _, replay, _ = _case(occam="none")
    x, y = replay.held_out_batch(torch.device("cpu"))
    step = HyperStep(model, make_input("image", torch.float64, batch=1), torch.tensor([0]), 10, seeded(4))
    value, (range_grad,) = objective.hyper_gradients(step)
    nll = -torch.log_softmax(model.predict(x, 3, seeded(4)), dim=1)[torch.arange(5), y]
    expected = torch.stack([nll[y == c].mean() for c in range(3)]).mean()
    assert value == pytest.approx(float(expected.detach()), rel=1e-12)
    magnitude = model.augmentation.candidates[0]._magnitude
    assert float(range_grad) == pytest.approx(float(torch.autograd.grad(expected, [magnitude])[0]), rel=1e-10)


def test_with_a_margin_the_weights_train_at_wider_ranges_and_the_ranges_come_back_exactly():
    model, _, _ = _case()
    magnitude = model.augmentation.candidates[0]._magnitude
    with torch.no_grad():
        magnitude.fill_(0.3)
    before = magnitude.detach().clone()
    with HeldOut(margin=0.25).training_ranges(model):
        assert float(magnitude.detach()) == pytest.approx(0.55)
    assert torch.equal(magnitude.detach(), before)
    with torch.no_grad():
        magnitude.fill_(0.9)
    with HeldOut(margin=0.25).training_ranges(model):
        assert float(magnitude.detach()) == 1.0  # at most the candidate's largest range
    assert float(magnitude.detach()) == pytest.approx(0.9)
