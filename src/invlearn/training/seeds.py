"""Every random stream of a run, derived from the config's ``seed`` in one place.

The data (generation, subsets, known transformations) use ``seed`` itself; the streams below are offsets from it,
so no two of them draw the same numbers.
"""

from __future__ import annotations

#: The training augmentation of process 0 (see :func:`augmentation_seed`).
AUGMENTATION = 1
#: Test-time copies during evaluation (every epoch, ``invlearn eval``, studies).
EVALUATION = 2
#: Augmented copies that set the batch-norm statistics before each evaluation.
CALIBRATION = 3
#: The transformations and reference pairs of a study's invariance scores.
SCORING = 4
#: The examples an objective holds out from the weights (DADA's half), and the order of their batches.
HELD_OUT = 5
#: Stride between the seeds of consecutive runs' batch orders: epoch ``e`` of a run with seed ``s`` is shuffled
#: from ``s * BATCH_ORDER_STRIDE + e`` (a prime, so runs with nearby seeds do not share epoch orders).
BATCH_ORDER_STRIDE = 100_003
#: Largest seed: numpy and Lightning's ``seed_everything`` take seeds below ``2**32``.
MAX_SEED = 2**32 - 1


def augmentation_seed(seed: int, rank: int) -> int:
    """The seed of process ``rank``'s augmentation generator: ``seed + AUGMENTATION`` for rank 0 (so one process
    gives the same run as before), and a stream ``2**32`` seeds away for every further rank, so processes training
    on different examples do not also draw the same augmentation noise."""
    return seed + AUGMENTATION + (rank << 32)


def batch_order_seed(seed: int, epoch: int) -> int:
    """The seed of the permutation of epoch ``epoch``'s training examples."""
    return seed * BATCH_ORDER_STRIDE + epoch
