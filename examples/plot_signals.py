"""
Augmentations of signals and EEG
================================

Signals are ``(batch, channels, times)`` tensors; the signal augmentations of the catalogue need the sampling rate
(``sfreq``) where they act in seconds or hertz. Here one 30 s epoch of the synthetic two-channel sleep EEG (100 Hz; its
spectrum follows the sleep stage: alpha when awake, spindles in N2, slow waves in N3) is shifted in frequency, in time,
given a new random phase (FT surrogate) and masked, each at a fixed strength, and every draw is replayed exactly from
its parameters. Each augmentation's magnitude is a parameter: wrapped in a learner, an objective learns it.
"""

import matplotlib.pyplot as plt
import torch

from invlearn import augmentations
from invlearn.data import registry

train, _ = registry.load("sleep", seed=0, n_train=20, n_test=5)
x = train.inputs[:4]  # (4, 2, 3000): four epochs, two channels, 30 s at 100 Hz
sfreq = train.sfreq
generator = torch.Generator().manual_seed(0)

# %%
# Every augmentation is created by name; ``magnitude`` scales its physical range (here +-2 Hz, +-0.5 s, full
# phase noise, masks of up to 1 s). ``return_params`` gives the draw, ``apply`` replays it.
shown = {
    "frequency_shift": augmentations.create("frequency_shift", sfreq=sfreq, magnitude=1.0),
    "time_shift": augmentations.create("time_shift", sfreq=sfreq, magnitude=1.0),
    "ft_surrogate": augmentations.create("ft_surrogate", magnitude=1.0),
    "time_mask": augmentations.create("time_mask", sfreq=sfreq, magnitude=1.0),
}
outputs = {}
for name, augmentation in shown.items():
    y, params = augmentation(x, generator=generator, return_params=True)
    assert torch.equal(augmentation.apply(x, params), y)  # exact replay
    outputs[name] = y.detach()  # the magnitude is a parameter, so the output carries its gradient
    print(f"{name}: range {augmentation.range()} {augmentation.unit}")

# %%
# The first channel of the first epoch (its first 5 s) and its spectrum, before and after each augmentation: the
# frequency shift moves every peak by one drawn number of hertz; the surrogate keeps the spectrum and scrambles the
# waveform.
times = torch.arange(500) / sfreq
frequencies = torch.fft.rfftfreq(x.shape[-1], 1 / sfreq)
fig, axes = plt.subplots(len(shown), 2, figsize=(9, 7), sharex="col")
for row, (name, y) in enumerate(outputs.items()):
    for signal, label in ((x, "original"), (y, name)):
        axes[row, 0].plot(times, signal[0, 0, :500], linewidth=0.8, label=label)
        axes[row, 1].semilogy(frequencies, torch.fft.rfft(signal[0, 0]).abs() ** 2, linewidth=0.8)
    axes[row, 0].legend(loc="upper right", fontsize=7)
    axes[row, 1].set_xlim(0, 20)
axes[-1, 0].set_xlabel("time (s)")
axes[-1, 1].set_xlabel("frequency (Hz)")
fig.suptitle("Synthetic sleep EEG, before and after four signal augmentations")
fig.tight_layout()

# %%
# The magnitudes get gradients: a loss on the augmented signal reaches the frequency shift's magnitude, which is what
# lets a learner (AugNet's layers, independent candidates) train it.
shift = augmentations.create("frequency_shift", sfreq=sfreq, magnitude=0.25)
shift(x, generator=generator).pow(2).mean().backward()
print("d loss / d magnitude:", shift.strength_parameter.grad)  # the raw parameter an optimiser updates
