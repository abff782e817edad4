"""
Learn an invariance in your own training loop
=============================================

MNIST digits, each rotated by an angle drawn uniformly over the full circle, are classified by an MLP (LILA's: one
hidden layer of 1,000 tanh units, nothing rotation-aware in it). Three candidate transformations start at 5 % of
their range; the held-out objective keeps a fifth of the training set from the weights and widens each range as far
as the invariant model still predicts that fifth as well. Plain PyTorch: your model, your batches, your loop.
"""

import math

import matplotlib.pyplot as plt
import torch

from invlearn import Independent, augmentations
from invlearn.data import registry
from invlearn.models.registry import create_trunk
from invlearn.objectives import HeldOut, HyperStep

torch.manual_seed(0)
train, test = registry.load("mnist", seed=0, n_train=1250, n_test=500, transform="rotate", transform_range=math.pi)
held = 250  # the part the weights never see

# %%
# The model: any trunk, wrapped with independent candidates (each applied to every example, each with its own range;
# rotation's scale is the full circle, so its magnitude is the fraction of pi it samples).
trunk = create_trunk("mlp", in_features=28 * 28, n_classes=10, width=1000, depth=1, activation="tanh")
candidates = [
    augmentations.create("rotate", magnitude=0.05, scale=math.pi),
    augmentations.create("translate_x", magnitude=0.05),
    augmentations.create("scale", magnitude=0.05),
]
model = Independent(trunk, candidates, n_copies_eval=8)
objective = HeldOut(burn_in_epochs=10)
objective.hold_out(train.inputs[-held:], train.labels[-held:], seed=0, classes=10)
x, y = train.inputs[:-held], train.labels[:-held]
weights = torch.optim.Adam(model.trunk.parameters(), lr=5e-3)
ranges = torch.optim.Adam(objective.hyper_parameters(model), lr=objective.lr)
generator = torch.Generator().manual_seed(0)

# %%
# The loop: weight steps on the task's loss, and every few steps (after a burn-in) one step of the ranges on the
# held-out objective.
history = {name: [] for name in model.learned_invariances()}
for epoch in range(30):
    for step, batch in enumerate(torch.randperm(len(x), generator=generator).split(128), start=1):
        loss = objective.weights_loss(model, model(x[batch], generator=generator), y[batch], len(x))
        weights.zero_grad()
        loss.backward()
        weights.step()
        if objective.hyper_step_due(epoch, step):
            ranges.zero_grad()
            objective.hyper_backward(HyperStep(model, x[batch], y[batch], len(x), generator))
            ranges.step()
            model.project_()  # keep every magnitude in [0, 1]
    for name, entry in model.learned_invariances().items():
        history[name].append(entry["magnitude"])

model.eval()
with torch.no_grad():
    accuracy = (model(test.inputs, generator=generator).argmax(1) == test.labels).float().mean().item()
rotation = model.learned_invariances()["rotate"]["high"]
print(f"test accuracy {accuracy:.3f}; rotation learned +-{rotation:.2f} rad (truth +-{math.pi:.2f})")
print({name: round(values[-1], 2) for name, values in history.items()})

# %%
# Each magnitude over the epochs. Rotation grows to the full circle once the burn-in ends; the shift and the zoom,
# which these digits were not given, stay near 0.
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, values in history.items():
    ax.plot(range(1, len(values) + 1), values, label=name)
ax.axvline(10, color="grey", linestyle=":", label="end of burn-in")
ax.set(xlabel="epoch", ylabel="magnitude (fraction of the scale)", title="Ranges learned by the held-out objective")
ax.legend()
fig.tight_layout()
