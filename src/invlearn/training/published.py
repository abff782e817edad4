"""Published numbers of the shipped experiments, each with the paper (or published code) it comes from.

Reports put them beside our own results. Where a number was measured by running a paper's published code on this
project's 2-core CPU machine rather than read from the paper, the source says so.
"""

from __future__ import annotations

from dataclasses import dataclass

AUGNET = "Rommel, Moreau, Gramfort, Deep invariant networks with differentiable augmentation layers, NeurIPS 2022"
AUGERINO = "Benton, Finzi, Izmailov, Wilson, Learning invariances in neural networks from training data, NeurIPS 2020"


@dataclass(frozen=True)
class Published:
    """What a paper reports for one experiment, and where it says so."""

    result: str
    source: str

    def cite(self) -> str:
        """``result (source)``, for a report cell."""
        return f"{self.result} ({self.source})"


#: Experiment name (a shipped config's ``experiment``) -> its published result.
PUBLISHED: dict[str, Published] = {
    "sprites-augnet": Published(
        "rotation +-45 to 48 deg (0.79-0.84 rad) from epoch 4, weight 0.97",
        f"published code of {AUGNET}, run on a 2-core CPU",
    ),
    "sprites-augerino": Published(
        "rotation +-47 to 61 deg over epochs 2-16; accuracy 0.997 with 4 copies",
        f"published code of {AUGERINO}, run on a 2-core CPU",
    ),
    "sinusoids-augnet": Published(
        "frequency-shift magnitude 0.236 (truth 0.25); accuracy 1.00 from epoch 29",
        f"published code of {AUGNET}, run on a 2-core CPU",
    ),
    "cifar10-augnet": Published("accuracy 93.2-93.3 %", AUGNET),
    "cifar10-augerino": Published("accuracy 91.6-91.7 %", f"{AUGNET}, table of CIFAR-10 baselines"),
    "cifar10-fixed": Published("accuracy 93.6 % (flip + crop)", f"{AUGNET}, table of CIFAR-10 baselines"),
    "cifar10-none": Published("accuracy 86.6 %", f"{AUGNET}, table of CIFAR-10 baselines"),
}
