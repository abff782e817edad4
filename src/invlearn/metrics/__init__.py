"""What a learner learned, measured: the invariance score of any model to a transform
(:mod:`~invlearn.metrics.invariance`, AugNet's score) and the identification metric, whether the learned ranges
recover a task's known invariance (:mod:`~invlearn.metrics.identification`).

Layering: metrics import ops, augmentations, families and models, never objectives, data, training or studies.
"""

from invlearn.metrics import identification
from invlearn.metrics.invariance import UNDEFINED_BELOW, invariance_curve, invariance_score

__all__ = ["UNDEFINED_BELOW", "identification", "invariance_curve", "invariance_score"]
