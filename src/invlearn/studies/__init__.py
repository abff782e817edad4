"""Studies: experiments that train many runs (:mod:`invlearn.training`, one run each) and tabulate them.

* :mod:`~invlearn.studies.identification`: does a learner find each task's known invariance, in every seed?
* :mod:`~invlearn.studies.compute`: accuracy against total compute (search + final training) for learned
  invariance, augmentation search and fixed policies.
* :mod:`~invlearn.studies.capacity`: AugNet's capacity study (trunk sizes x methods x seeds).
* :mod:`~invlearn.studies.evidence`: evidence curves, every objective's score of models trained at fixed ranges
  (``invlearn evidence``).
* :mod:`~invlearn.studies.registry`: a study file's ``kind`` -> its module (``load_study``, ``run_study``).
* :mod:`~invlearn.studies.grid`: what they share (checked overrides and seeds; a grid of runs trained in worker
  processes, finished runs reused, killed ones resumed).

Layering: studies import training and everything below it, never the CLI.
"""
