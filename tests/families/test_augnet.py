"""AugmentationLayer and AugmentationModule: mixture in training, per-example sampling in evaluation."""

from __future__ import annotations

import pytest
import torch

from invlearn import AugmentationLayer, AugmentationModule, augmentations
from tests.conftest import seeded
from tests.learners import all_candidates, image_layer


def test_weights_softmax_of_logits_over_temperature():
    layer = AugmentationLayer(["rotate", "hflip", "brightness"], temperature=0.5)
    with torch.no_grad():
        layer.logits.copy_(torch.tensor([1.0, 2.0, 0.5]))
    assert torch.allclose(layer.weights, torch.softmax(torch.tensor([2.0, 4.0, 1.0]), 0))
    assert torch.allclose(AugmentationLayer(["rotate", "hflip"]).weights, torch.tensor([0.5, 0.5]))


def test_training_forward_is_the_weighted_mixture_of_all_candidates():
    layer = image_layer().train()
    with torch.no_grad():
        layer.logits.copy_(torch.linspace(1.0, 1.05, len(layer.candidates)))
    x = torch.rand(4, 3, 8, 8)
    out, params = layer(x, generator=seeded(0), return_params=True)
    expected = sum(
        w * c.apply(x, {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"{q}.")})
        for q, (c, w) in enumerate(zip(layer.candidates, layer.weights, strict=True))
    )
    assert torch.allclose(out, expected, atol=1e-5)


def test_eval_picks_one_candidate_per_example():
    layer = image_layer().eval()
    x = torch.rand(64, 3, 8, 8)
    out, params = layer(x, generator=seeded(1), return_params=True)
    choices = layer.choices(params)
    assert len(choices.unique()) > 5, "per-example sampling must pick different candidates within a batch"
    for b in range(64):
        q = int(choices[b])
        single = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"{q}.")}
        assert torch.allclose(out[b], layer.candidates[q].apply(x, single)[b], atol=1e-5)


def test_per_batch_sampling_shares_one_choice():
    layer = image_layer(eval_sampling="per_batch").eval()
    params = layer.sample(32, generator=seeded(2), shape=(3, 8, 8))
    assert len(layer.choices(params).unique()) == 1


def test_eval_choices_follow_the_weights():
    layer = AugmentationLayer(["rotate", "hflip"], temperature=1.0).eval()
    with torch.no_grad():
        layer.logits.copy_(torch.log(torch.tensor([0.8, 0.2])))
    choices = layer.choices(layer.sample(20000, generator=seeded(3), shape=(3, 4, 4)))
    assert (choices == 0).float().mean().item() == pytest.approx(0.8, abs=0.01)


def test_signal_layer_and_module_chain():
    layers = [AugmentationLayer(all_candidates("signal")), AugmentationLayer(["sign_flip", "time_reverse"])]
    module = AugmentationModule(layers)
    x = torch.randn(6, 2, 64)
    for training in (True, False):
        out, params = module.train(training)(x, generator=seeded(4), return_params=True)
        assert out.shape == x.shape and torch.isfinite(out).all()
        assert torch.equal(module.apply(x, params), out)
        assert all(key.split(".")[0] in {"0", "1"} for key in params)


def test_copies_shift_batch_indices():
    layer = AugmentationLayer(["sample_pairing", "rotate"])
    params = layer.sample_copies(3, 4, generator=seeded(5), shape=(3, 8, 8))
    partners = params["0.partner"].view(3, 4)
    for c in range(3):
        assert sorted(partners[c].tolist()) == list(range(4 * c, 4 * c + 4))
    assert layer.batch_index_keys == ("0.partner",)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: AugmentationLayer([]), ValueError, "at least one candidate"),
        (lambda: AugmentationLayer(["rotate"], temperature=0.0), ValueError, "temperature must be"),
        (lambda: AugmentationLayer(["rotate"], temperature=-1.0), ValueError, "temperature must be"),
        (lambda: AugmentationLayer(["rotate", "sign_flip"]), ValueError, "mixes modalities"),
        (lambda: AugmentationLayer(["rotate", "rotate"]), ValueError, "must not repeat a name"),
        (lambda: AugmentationLayer(["rotation"]), ValueError, "unknown augmentation name"),
        (lambda: AugmentationLayer([torch.nn.Identity()]), TypeError, "Augmentation instances"),
        (lambda: AugmentationLayer(["rotate"], eval_sampling="per_copy"), ValueError, "eval_sampling must be"),
        (lambda: AugmentationModule([]), ValueError, "at least one"),
        (lambda: AugmentationModule([AugmentationLayer(["rotate"]), AugmentationLayer(["sign_flip"])]),
         ValueError, "mixes modalities"),
    ],
)  # fmt: skip
def test_bad_construction(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_layer_rejects_input_of_the_other_modality():
    layer = AugmentationLayer([augmentations.create("frequency_shift", sfreq=10.0)])
    with pytest.raises(ValueError, match="signal transform"):
        layer(torch.rand(2, 3, 8, 8))
