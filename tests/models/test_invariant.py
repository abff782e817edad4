"""AugNet and Augerino models: copies, gradients, penalties, reports, state and construction errors."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from invlearn import Augerino, AugmentationLayer, AugNet, UniformLieAffine
from invlearn.objectives.reward import regularized_loss
from tests.conftest import seeded
from tests.learners import FAMILIES, TinyImageTrunk, TinySignalTrunk, all_candidates, family_model, image_layer


def augnet(**kwargs):
    torch.manual_seed(0)
    layers = [image_layer(), AugmentationLayer(["sample_pairing", "rotate", "hflip"])]
    return AugNet(TinyImageTrunk(), layers, **kwargs)


def augerino(**kwargs):
    torch.manual_seed(0)
    return Augerino(TinyImageTrunk(), **kwargs)


MODELS = {"augnet": augnet, "augerino": augerino}
X = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(9))
Y = torch.tensor([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("training", [True, False])
def test_copies_equal_the_average_of_separate_forwards(build, training):
    model = build(n_copies_train=3, n_copies_eval=3).train(training)
    model.trunk.eval()  # batch statistics would differ between one batch of 3B and three batches of B
    batched = model(X, generator=seeded(11))
    single = build(n_copies_train=1, n_copies_eval=1).train(training)
    single.load_state_dict(model.state_dict())
    single.trunk.eval()
    g = seeded(11)
    separate = torch.stack([single(X, generator=g) for _ in range(3)]).mean(0)
    assert torch.allclose(batched, separate, atol=1e-5)


def test_output_is_mean_log_softmax_and_mean_for_regression():
    model = augerino(n_copies_eval=4).eval()
    out = model(X, generator=seeded(1))
    assert out.shape == (6, 3) and (out <= 0).all()
    raw = Augerino(model.trunk, model.augmentation, n_copies_eval=4, aggregate="mean").eval()
    assert not torch.allclose(raw(X, generator=seeded(1)), out)


@pytest.mark.parametrize("modality", ["image", "signal"])
def test_gradients_reach_every_magnitude_probability_and_weight(modality):
    torch.manual_seed(0)
    if modality == "image":
        model, x, y = AugNet(TinyImageTrunk(), image_layer()), X, Y
    else:
        model = AugNet(TinySignalTrunk(channels=3), AugmentationLayer(all_candidates("signal")))
        x, y = torch.randn(6, 3, 64), torch.tensor([0, 1, 0, 1, 0, 1])
    regularized_loss(model(x, generator=seeded(2)), y, model, lam=0.5).backward()
    for name, parameter in model.augmentation.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_gradients_reach_every_augerino_width():
    model = augerino()
    regularized_loss(model(X, generator=seeded(2)), Y, model, lam=0.1).backward()
    grad = model.augmentation.width_raw.grad
    assert grad is not None and (grad.abs() > 0).all()


def test_augnet_penalties():
    model = augnet()
    with torch.no_grad():
        model.augmentation.layers[1].logits.copy_(torch.tensor([1.0, 1.01, 0.99]))
    parts, magnitudes = [], []
    for layer in model.augmentation.layers:
        strengths = torch.stack([c.strength for c in layer.candidates])
        parts.append(strengths * layer.weights)
        magnitudes.append(strengths)
    assert torch.allclose(model.penalty(), torch.cat(parts).norm())
    ablation = AugNet(model.trunk, model.augmentation, penalty="magnitude")
    assert torch.allclose(ablation.penalty(), torch.cat(magnitudes).norm())
    with pytest.raises(ValueError, match="penalty must be one of"):
        AugNet(model.trunk, model.augmentation, penalty="l1")


def test_augerino_penalty_and_safe_cap():
    model = augerino()
    model.augmentation.set_widths([0.5, 0.5, 12.0, 0.1, 0.1, 0.1])
    widths = torch.tensor([0.5, 0.5, 12.0, 0.1, 0.1, 0.1])
    assert model.penalty().item() == pytest.approx(widths.norm().item(), rel=1e-5)
    safe = Augerino(model.trunk, model.augmentation, width_cap=10.0)
    assert safe.penalty().item() == pytest.approx(widths.clamp(max=10).norm().item(), rel=1e-5)
    safe.penalty().backward()
    assert model.augmentation.width_raw.grad[2] == 0 and model.augmentation.width_raw.grad[0] > 0


def test_augerino_safe_variant_switches_the_whole_reward_off():
    """The reference's "safe" Augerino: no reward at all while any width is at or past the limit."""
    model = augerino()
    safe = Augerino(model.trunk, model.augmentation, safe_limit=10.0)
    model.augmentation.set_widths([0.5, 0.5, 9.0, 0.1, 0.1, 0.1])
    assert safe.penalty().item() == pytest.approx(model.penalty().item())  # below the limit: the plain reward
    model.augmentation.set_widths([0.5, 0.5, 10.5, 0.1, 0.1, 0.1])
    reward = safe.penalty()
    reward.backward()
    assert reward.item() == 0.0 and bool((model.augmentation.width_raw.grad == 0).all())
    with pytest.raises(ValueError, match="safe_limit must be > 0"):
        Augerino(model.trunk, model.augmentation, safe_limit=0.0)


def test_learned_invariances_report():
    report = augnet().learned_invariances()
    json.dumps(report)
    assert set(report["0.rotate"]) == {"weight", "magnitude", "low", "high", "unit", "scale"}
    assert report["0.rotate"]["scale"] == pytest.approx(math.pi / 6) and report["0.hflip"]["scale"] == 1.0
    assert report["0.rotate"]["unit"] == "rad" and report["0.rotate"]["high"] == pytest.approx(0.5 * math.pi / 6)
    assert report["0.hflip"]["magnitude"] is None and report["0.hflip"]["high"] == pytest.approx(0.5)
    assert "1.sample_pairing" in report
    assert sum(v["weight"] for k, v in report.items() if k.startswith("0.")) == pytest.approx(1.0)

    model = Augerino(TinyImageTrunk(), UniformLieAffine(init_width=math.pi / 4))
    ranges = model.learned_invariances()
    json.dumps(ranges)
    assert ranges["rotate"]["high"] == pytest.approx(math.pi / 8, rel=1e-5)
    assert ranges["rotate"]["low"] == pytest.approx(-math.pi / 8, rel=1e-5)
    assert ranges["rotate"]["weight"] is None and ranges["translate_x"]["unit"] == "fraction of width"
    assert ranges["rotate"]["scale"] == pytest.approx(math.pi) and ranges["translate_x"]["scale"] == 0.5


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_state_dict_round_trip_continues_identically(build):
    def train(model, optimizer, generator, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            regularized_loss(model(X, generator=generator), Y, model, lam=0.2).backward()
            optimizer.step()

    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = seeded(3)
    train(model, optimizer, generator, 3)
    saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict()), generator.get_state())
    train(model, optimizer, generator, 3)

    restored = build()
    restored.load_state_dict(saved[0])
    restored_optimizer = torch.optim.Adam(restored.parameters(), lr=0.01)
    restored_optimizer.load_state_dict(saved[1])
    generator = torch.Generator()
    generator.set_state(saved[2])
    train(restored, restored_optimizer, generator, 3)
    for (name, a), b in zip(model.state_dict().items(), restored.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_dtype_and_device_follow_the_trunk(build):
    model = build(n_copies_eval=2).double().eval()
    out = model(X.double(), generator=seeded(0))
    assert out.dtype == torch.float64
    assert all(p.dtype == torch.float64 for p in model.parameters())


def test_any_trunk_module_works():
    model = AugNet(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 5)), image_layer())
    assert model(X).shape == (6, 5)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: AugNet(TinyImageTrunk(), image_layer(), n_copies_train=0), ValueError, "n_copies_train must be"),
        (lambda: AugNet(TinyImageTrunk(), image_layer(), n_copies_eval=2.5), ValueError, "n_copies_eval must be"),
        (lambda: Augerino(TinyImageTrunk(), n_copies_eval=0), ValueError, "n_copies_eval must be"),
        (lambda: AugNet(TinyImageTrunk(), UniformLieAffine()), TypeError, "AugmentationModule"),
        (lambda: AugNet("trunk", image_layer()), TypeError, "trunk must be a torch.nn.Module"),
        (lambda: AugNet(TinyImageTrunk(), image_layer(), aggregate="max"), ValueError, "aggregate must be"),
        (lambda: Augerino(TinyImageTrunk(), width_cap=0.0), ValueError, "width_cap must be"),
        (lambda: UniformLieAffine(generators=("rotate", "twist")), ValueError, "generators must be one of"),
        (lambda: UniformLieAffine(init_width=-1.0), ValueError, "init_width must be"),
    ],
)
def test_bad_construction(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_signal_augmentation_on_image_input_is_rejected():
    model = AugNet(TinyImageTrunk(), AugmentationLayer(all_candidates("signal")[:2]))
    with pytest.raises(ValueError, match="for the signal transform"):
        model(X)


def test_project_clamps_strengths_into_unit_interval():
    model = augnet()
    layer = model.augmentation.layers[0]
    rotate = next(c for c in layer.candidates if c.name == "rotate")
    hflip = next(c for c in layer.candidates if c.name == "hflip")
    with torch.no_grad():
        rotate._magnitude.fill_(-0.3)
        hflip._probability.fill_(1.4)
    model.project_()
    assert float(rotate._magnitude.detach()) == 0.0 and float(hflip._probability.detach()) == 1.0
    logits = layer.logits.detach().clone()
    model.project_()
    assert torch.equal(layer.logits, logits)  # weights are not strengths


@pytest.mark.parametrize("family", FAMILIES)
def test_a_fixed_draw_replays_the_same_copies_at_other_ranges(family):
    """predict(draw=) on the draw predict made gives its output; the draw is noise, so a range changed after it is
    seen (the magnitudes scale it when it is applied), and a draw of another batch is refused."""
    model = family_model(family).train()
    x = torch.rand(3, 3, 8, 8)
    draw = model.draw(x, 2, seeded(4))
    before = model.predict(x, 2, draw=draw)
    assert torch.equal(before, model.predict(x, 2, seeded(4)))
    with torch.no_grad():
        for parameter in model.augmentation.parameters():
            parameter.mul_(0.5)
    after = model.predict(x, 2, draw=draw)
    assert torch.equal(after, model.predict(x, 2, seeded(4))) and not torch.equal(after, before)
    with pytest.raises(ValueError, match="to match a batch of 8 examples, got"):
        model.predict(torch.rand(4, 3, 8, 8), 2, draw=draw)
