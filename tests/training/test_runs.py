"""Training runs end to end on a tiny sinusoids task: run directory, determinism, exact resumption, evaluation,
and the command line's errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from invlearn.cli import main
from invlearn.models.invariant import InvariantModel
from invlearn.training import config, run
from invlearn.training.task import InvarianceTask

AUGNET = Path(__file__).resolve().parents[2] / "configs" / "sinusoids-augnet.yaml"
TINY = [
    "data.n_train=96", "data.n_test=40", "trainer.epochs=3", "trainer.batch_size=16",
    "trainer.checkpoint_every_n_steps=4", "trainer.progress_bar=false", "model.n_copies_eval=2",
]  # fmt: skip


#: The same task with independent candidates under the marginal likelihood, a hyper-step every 2 weight steps.
MARGLIK = [
    "model.method=independent", "model.objective=marglik", "model.layers=null", "optim.weight_decay=0",
    "model.candidates=[{name: frequency_shift, magnitude: 0.1, scale: 2.0}, {name: gaussian_noise, magnitude: 0.1}]",
    "marglik.burn_in_epochs=1", "marglik.every_n_steps=2", "marglik.copies=3",
]  # fmt: skip


#: DADA's search on the same task: a relaxed policy over two signal ops, the unrolled hypergradient every step.
DADA = [
    "model.method=dada", "model.objective=unrolled", "model.layers=null",
    "model.candidates=[{name: time_shift}, {name: sign_flip}, {name: gaussian_noise}]",
]  # fmt: skip


#: The held-out likelihood on the same task, its last epoch a refit on every example (the held-out part included).
REFIT = [
    "model.method=independent", "model.objective=heldout", "model.layers=null", "optim.weight_decay=0",
    "model.candidates=[{name: frequency_shift, magnitude: 0.1, scale: 2.0}]", "heldout.burn_in_epochs=0",
    "heldout.every_n_steps=2", "heldout.batch_size=8", "heldout.refit=0.34",
]  # fmt: skip


def tiny_config(*extra):
    return config.load(AUGNET, TINY + list(extra))


def without_times(metrics):
    times = ("seconds", "hyper_seconds", "eval_seconds")
    return [{k: v for k, v in epoch.items() if k not in times} for epoch in metrics["epochs"]]


def test_run_directory_and_determinism(tmp_path):
    metrics = run.train(tiny_config(), tmp_path / "a")
    out = tmp_path / "a"
    for name in ("config.yaml", "metrics.json", "checkpoints/last.ckpt", "logs/csv/metrics.csv"):
        assert (out / name).is_file(), name
    assert list((out / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    written = json.loads((out / "metrics.json").read_text())
    assert set(written) == {"final", "epochs", "wall_time_s"} and len(written["epochs"]) == 3
    found = written["final"]["identification"]  # the sinusoids carry a +-0.5 Hz frequency shift
    assert found["truth"] == {"names": ["frequency_shift"], "half_range": 0.5, "unit": "Hz", "at_most": 0.0}
    assert isinstance(found["recovered"], bool) and set(found["effective_ranges"]) == {
        "frequency_shift",
        "ft_surrogate",
        "gaussian_noise",
    }
    assert set(written["epochs"][0]) == {
        "epoch", "train_loss", "test_accuracy", "balanced_accuracy", "score", "learned_invariances", "seconds",
        "hyper_seconds", "eval_seconds", "objective",
    }  # fmt: skip
    assert written["epochs"][0]["hyper_seconds"] == 0.0 and written["epochs"][0]["objective"] == {}  # the reward
    assert "0.frequency_shift" in written["final"]["learned_invariances"]
    again = run.train(tiny_config(), tmp_path / "b")
    assert without_times(again) == without_times(metrics)
    torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)  # loads without pickled code


@pytest.mark.parametrize("objective", [[], MARGLIK, DADA, REFIT], ids=["reward", "marglik", "dada", "refit"])
def test_resume_after_a_kill_mid_epoch_ends_like_an_uninterrupted_run(tmp_path, monkeypatch, objective):
    reference = run.train(tiny_config(*objective), tmp_path / "reference")

    class Killed(RuntimeError):
        pass

    original = run._last_checkpoint_callback

    def killing_callback(path, every_n_steps):
        callback = original(path, every_n_steps)
        parent = type(callback).on_train_batch_end

        def on_train_batch_end(self, trainer, *args):
            parent(self, trainer, *args)
            if trainer.global_step == 8:  # epoch 1 of 3 (6 batches each), just after a checkpoint
                raise Killed

        type(callback).on_train_batch_end = on_train_batch_end
        return callback

    monkeypatch.setattr(run, "_last_checkpoint_callback", killing_callback)
    with pytest.raises(Killed):
        run.train(tiny_config(*objective), tmp_path / "killed")
    monkeypatch.setattr(run, "_last_checkpoint_callback", original)
    assert not (tmp_path / "killed" / "metrics.json").exists()
    resumed = run.train(run.read_config(tmp_path / "killed"), tmp_path / "killed", resume=True)
    for mine, theirs in zip(without_times(resumed), without_times(reference), strict=True):
        assert mine["epoch"] == theirs["epoch"]
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-5)
        assert mine["test_accuracy"] == theirs["test_accuracy"]
        assert mine["objective"] == pytest.approx(theirs["objective"], rel=1e-5)
        for key, entry in theirs["learned_invariances"].items():
            assert mine["learned_invariances"][key]["magnitude"] == pytest.approx(entry["magnitude"], abs=1e-6)
    states = [run.read_checkpoint(tmp_path / name)["state_dict"] for name in ("reference", "killed")]
    for key, value in states[0].items():
        if key.startswith("model.augmentation.") and value.is_floating_point():
            assert torch.allclose(states[1][key], value, atol=1e-6), key
    logs = tmp_path / "killed" / "logs"
    first, second = (logs / "csv" / "metrics.csv").read_text(), (logs / "csv-1" / "metrics.csv").read_text()
    assert "train_loss" in first and "test_accuracy" in second  # each segment keeps its own rows


def test_a_marginal_likelihood_run_learns_its_ranges_apart_and_times_them(tmp_path):
    metrics = run.train(tiny_config(*MARGLIK), tmp_path / "r")
    first, *rest = metrics["epochs"]
    assert first["hyper_seconds"] == 0.0  # the burn-in epoch
    assert all(0 < e["hyper_seconds"] < e["seconds"] for e in rest)
    assert metrics["final"]["hyper_seconds"] == pytest.approx(sum(e["hyper_seconds"] for e in rest))
    start = first["learned_invariances"]["frequency_shift"]["magnitude"]
    assert start == pytest.approx(0.1)  # nothing moved the range during the burn-in
    assert rest[-1]["learned_invariances"]["frequency_shift"]["magnitude"] != pytest.approx(start)
    assert rest[-1]["objective"]["prior_precision"] != pytest.approx(1.0)
    assert set(metrics["final"]["learned_invariances"]) == {"frequency_shift", "gaussian_noise"}
    again = run.train(tiny_config(*MARGLIK), tmp_path / "again")
    assert without_times(again) == without_times(metrics)  # same seed, same run


def test_scoring_every_second_epoch_skips_the_others_and_changes_nothing_learned(tmp_path, capsys):
    every = run.train(tiny_config(*REFIT), tmp_path / "every")
    sparse = run.train(tiny_config(*REFIT, "trainer.eval_every_n_epochs=2", "trainer.progress_bar=true"),
                       tmp_path / "sparse")  # fmt: skip
    shown = [line for line in capsys.readouterr().err.splitlines() if "train loss" in line]
    assert ["test accuracy" in line for line in shown] == [False, True, True]
    assert [e["test_accuracy"] is None for e in sparse["epochs"]] == [True, False, False]  # epoch 2 and the last
    assert sparse["epochs"][0]["eval_seconds"] < every["epochs"][0]["eval_seconds"]
    for mine, theirs in zip(without_times(sparse), without_times(every), strict=True):
        scored = mine["test_accuracy"] is not None
        assert mine == theirs if scored else {**theirs, "test_accuracy": None, "balanced_accuracy": None}
    assert sparse["final"]["test_accuracy"] == every["final"]["test_accuracy"]


def test_the_weight_step_of_a_bilevel_objective_builds_no_path_into_the_ranges(tmp_path, monkeypatch):
    """The held-out objective learns its ranges in hyper-steps only: the weights' backward pass computes no
    gradient of the ranges (nor the trunk's input gradient that leads to them)."""
    seen = []
    original = InvarianceTask.training_step

    def recording_step(self, batch, batch_idx):
        loss = original(self, batch, batch_idx)
        ranges = [p for p in self.model.augmentation.parameters() if p.requires_grad]
        seen.append(torch.autograd.grad(loss, ranges, retain_graph=True, allow_unused=True))
        return loss

    monkeypatch.setattr(InvarianceTask, "training_step", recording_step)
    run.train(tiny_config(*REFIT), tmp_path / "r")
    assert seen and all(g is None for grads in seen for g in grads)


def test_with_a_margin_the_weights_train_beyond_the_ranges_except_in_the_refit(tmp_path, monkeypatch):
    seen = []  # (range the weight step used, the range itself, refitting)
    original_outputs, original_step = InvariantModel.training_outputs, InvarianceTask.training_step

    def recording_outputs(self, x, target, generator=None):
        seen.append([float(self.augmentation.candidates[0]._magnitude.detach())])
        return original_outputs(self, x, target, generator)

    def recording_step(self, batch, batch_idx):
        loss = original_step(self, batch, batch_idx)
        range_now = float(self.model.augmentation.candidates[0]._magnitude.detach())
        seen[-1] += [range_now, self.current_epoch >= self.refit_from]
        return loss

    monkeypatch.setattr(InvariantModel, "training_outputs", recording_outputs)
    monkeypatch.setattr(InvarianceTask, "training_step", recording_step)
    run.train(tiny_config(*REFIT, "heldout.margin=0.2"), tmp_path / "r")
    assert {refit for *_, refit in seen} == {False, True}
    for used, range_now, refit in seen:
        assert used == pytest.approx(range_now if refit else min(1.0, range_now + 0.2), abs=1e-6)


def test_a_dada_search_holds_half_the_training_set_out_and_learns_its_policy_apart(tmp_path):
    data, _, task = run._prepare(tiny_config(*DADA), tmp_path / "prepared", resume=False)
    assert len(data.train) == 48 and len(task.objective._held_out[0]) == 48  # DADA's half of 96
    held = {tuple(row.flatten()[:4].tolist()) for row in task.objective._held_out[0]}
    assert not held & {tuple(row.flatten()[:4].tolist()) for row in data.train.inputs}
    metrics = run.train(tiny_config(*DADA), tmp_path / "r")
    assert all(0 < e["hyper_seconds"] < e["seconds"] for e in metrics["epochs"])
    policy = run.load_trained(tmp_path / "r")[2].augmentation.transform
    assert not torch.allclose(policy.weights, torch.full((3,), 1 / 3))
    assert not torch.equal(policy.magnitudes, torch.full((3, 2), 0.5))
    again = run.train(tiny_config(*DADA), tmp_path / "again")
    assert without_times(again) == without_times(metrics)


@pytest.mark.parametrize(
    "policy", ["{name: randaugment, n_ops: 2, magnitude: 0.9}", "{name: trivialaugment}", "{name: sequence}"]
)
def test_a_policy_trains_on_augmented_batches_and_is_tested_on_clean_ones(tmp_path, policy):
    ops = "[{name: time_shift, magnitude: 1.0}, {name: sign_flip, probability: 0.5}]"
    settings = tiny_config(
        "model.method=policy", "model.layers=null", f"model.candidates={ops}", f"model.policy={policy}"
    )
    metrics = run.train(settings, tmp_path / "r")
    assert metrics["final"]["learned_invariances"] == {} and metrics["final"]["hyper_seconds"] == 0
    _, data, model, _ = run.load_trained(tmp_path / "r")
    x = data.test.inputs[:8]
    with torch.no_grad():
        assert torch.allclose(model(x), torch.log_softmax(model.trunk(x), dim=1))
        model.train()
        assert not torch.allclose(model.augment(x, 1, torch.Generator().manual_seed(0)), x)


def test_evaluate_a_run(tmp_path):
    run.train(tiny_config(), tmp_path / "r")
    result = run.evaluate(tmp_path / "r", n_copies=3)
    assert 0 <= result["test_accuracy"] <= 1 and result["n_copies_eval"] == 3
    (tmp_path / "r" / "checkpoints" / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(config.ConfigError, match="not a readable invlearn checkpoint"):
        run.evaluate(tmp_path / "r")


def test_cli_rejects_bad_config_with_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", str(AUGNET), "--out", str(out), "--set", "model.temperature=0"]) == 2
    assert capsys.readouterr().err.strip() == "invlearn: error: model.temperature: must be > 0, got 0"
    assert not out.exists()
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert "cannot read" in capsys.readouterr().err
    rotmnist = AUGNET.parent / "rotmnist-none.yaml"
    assert main(["train", str(rotmnist), "--out", str(out), "--set", f"data.root={tmp_path / 'no-mnist'}"]) == 2
    assert "no-mnist: no such folder" in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_to_overwrite_a_run(tmp_path, capsys):
    run.train(tiny_config(), tmp_path / "r")
    assert main(["train", str(AUGNET), "--out", str(tmp_path / "r"), *sum([["--set", s] for s in TINY], [])]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_python_m_invlearn_is_the_command():
    done = subprocess.run([sys.executable, "-m", "invlearn", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: invlearn ")


def test_cli_train_subprocess(tmp_path):
    args = [sys.executable, "-m", "invlearn", "train", str(AUGNET), "--out", str(tmp_path / "r")]
    for item in TINY + ["trainer.epochs=1"]:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["epochs"] == 1


def _learner(resolved):
    from invlearn.training.build import build_data, build_learner

    data = build_data(resolved)
    return data, build_learner(resolved, data)


def test_batch_norm_statistics_are_recomputed_before_evaluation():
    from invlearn.training.evaluation import recalibrate_batch_norm

    resolved = config.load(AUGNET.parent / "sinusoids-none.yaml", ["data.n_train=96", "trainer.batch_size=32"])
    data, learner = _learner(resolved)
    trunk = learner.model.trunk
    norm = trunk.features[1]
    norm.running_mean.fill_(100.0)
    recalibrate_batch_norm(learner.model, data.train.inputs, 32, torch.Generator().manual_seed(0))
    with torch.no_grad():
        activations = trunk.features[0](data.train.inputs)
    assert torch.allclose(norm.running_mean, activations.mean(dim=(0, 2)), atol=1e-4)
    assert not norm.training and norm.momentum == 0.1


def test_batch_norm_calibration_passes_one_copy_of_each_example():
    from invlearn.training.evaluation import recalibrate_batch_norm

    resolved = config.load(AUGNET, ["data.n_train=96", "trainer.batch_size=32", "model.n_copies_eval=5"])
    data, learner = _learner(resolved)
    model = learner.model.eval()
    seen = []
    model.trunk.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    recalibrate_batch_norm(model, data.train.inputs, 32, torch.Generator().manual_seed(0))
    assert seen == [32, 32, 32]  # 96 calibration examples, one copy each, not 5
    assert model.n_copies_eval == 5


def test_two_cpu_processes_with_ddp(tmp_path):
    """`--set trainer.devices=2 --set trainer.strategy=ddp`: two gloo processes share each epoch and rank 0 writes
    the run directory. (Which candidate AugNet's sharp softmax picks on this tiny task depends on small early
    differences, such as batch-norm statistics over 8 examples per process instead of 16, so the learned
    magnitudes are not compared with a one-process run here.)"""
    args = [sys.executable, "-m", "invlearn", "train", str(AUGNET), "--out", str(tmp_path / "ddp")]
    for item in TINY + ["trainer.batch_size=8", "trainer.devices=2", "trainer.strategy=ddp"]:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stdout.strip().splitlines()) == 1  # one summary line, not one per process
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 3 and metrics["final"]["test_accuracy"] >= 0.9
    checkpoint = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    generators = checkpoint["invlearn"]["generators"]
    assert generators.shape[0] == 2 and not torch.equal(generators[0], generators[1])  # one stream per process
    assert sum(v["weight"] for v in metrics["final"]["learned_invariances"].values()) == pytest.approx(1.0)


def test_each_process_draws_its_own_augmentations():
    """Rank 0 keeps the one-process stream (``seed + 1``); other ranks get distinct, reproducible streams."""
    from invlearn.training.seeds import augmentation_seed

    assert augmentation_seed(7, 0) == 8
    seeds = {augmentation_seed(seed, rank) for seed in range(4) for rank in range(4)}
    assert len(seeds) == 16


def test_evaluation_counts_per_class_for_the_balanced_accuracy():
    from invlearn.training.evaluation import Accuracy, accuracies, class_counts, evaluate

    always_zero = lambda x, generator=None: torch.tensor([[1.0, 0, 0, 0]]).expand(x.shape[0], 4)  # noqa: E731
    counts = class_counts(always_zero, torch.zeros(4, 1, 1000), torch.tensor([0, 0, 0, 1]), 4, None)
    assert counts.tolist() == [[3, 3], [0, 1], [0, 0], [0, 0]]
    assert accuracies(counts) == (0.75, 0.5)  # classes 2 and 3 absent: not counted
    labels = torch.tensor([0, 0, 0, 1, 2, 2])
    results = evaluate(always_zero, torch.zeros(6, 1, 8), labels, Accuracy(4), 4, None)  # batches of 4 and 2
    assert results == {"test_accuracy": 0.5, "balanced_accuracy": 1 / 3}


def test_sgd_with_a_cosine_schedule_anneals_to_zero(tmp_path):
    resolved = tiny_config("optim.algorithm=sgd", "optim.lr=0.05", "optim.schedule=cosine", "optim.nesterov=true")
    run.train(resolved, tmp_path / "sgd")
    checkpoint = torch.load(tmp_path / "sgd" / "checkpoints" / "last.ckpt", weights_only=True)
    ((group, *_),) = [state["param_groups"] for state in checkpoint["optimizer_states"]]
    assert group["momentum"] == 0.9 and group["nesterov"] and group["lr"] == pytest.approx(0.0, abs=1e-12)
    (scheduler,) = checkpoint["lr_schedulers"]
    assert scheduler["T_max"] == 3 * 6  # 3 epochs of 96 / 16 batches


#: The same task with independent candidates under the held-out likelihood, a hyper-step every 2 weight steps.
HELDOUT = [
    "model.method=independent", "model.objective=heldout", "model.layers=null",
    "model.candidates=[{name: frequency_shift, magnitude: 0.1, scale: 2.0}, {name: gaussian_noise, magnitude: 0.1}]",
    "heldout.burn_in_epochs=1", "heldout.every_n_steps=2", "heldout.copies=2", "heldout.batch_size=8",
]  # fmt: skip


def test_two_cpu_processes_learn_one_held_out_range(tmp_path):
    """The held-out objective under DDP: both processes hold the same examples out and take the mean of their
    hyper-gradients, so they keep one range; rank 0 writes what it kept from the weights."""
    args = [sys.executable, "-m", "invlearn", "train", str(AUGNET), "--out", str(tmp_path / "ddp")]
    for item in TINY + HELDOUT + ["trainer.batch_size=8", "trainer.devices=2", "trainer.strategy=ddp"]:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stdout.strip().splitlines()) == 1  # one summary line, not one per process
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    held_out = {"examples": 19, "fraction": 0.2, "weights_trained_on": 77, "refit_epochs": 0}
    assert metrics["final"]["held_out"] == held_out
    assert metrics["final"]["hyper_seconds"] > 0
    checkpoint = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    magnitude = checkpoint["state_dict"]["model.augmentation.candidates.0._magnitude"]
    assert float(magnitude) == pytest.approx(metrics["final"]["learned_invariances"]["frequency_shift"]["magnitude"])
    assert float(magnitude) != pytest.approx(0.1)  # it moved


def test_in_the_refit_epochs_the_ranges_stay_and_the_weights_see_the_held_out_part(tmp_path):
    metrics = run.train(tiny_config(*REFIT, "trainer.epochs=4", "heldout.refit=0.5"), tmp_path / "run")
    epochs = metrics["epochs"]
    shift = [epoch["learned_invariances"]["frequency_shift"]["magnitude"] for epoch in epochs]
    assert shift[1] != shift[0] and shift[3] == shift[2] == shift[1]  # no hyper-step after epoch 2 of 4
    assert [epoch["hyper_seconds"] > 0 for epoch in epochs] == [True, True, False, False]
    assert metrics["final"]["held_out"] == {
        "examples": 19,
        "fraction": 0.2,
        "weights_trained_on": 77,
        "refit_epochs": 2,
    }
