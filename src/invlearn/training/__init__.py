"""Training one run (optional extra ``train``): the thin Lightning glue that receives a built learner.

* :mod:`~invlearn.training.config`: the YAML configuration, its schema and checks (the pieces of a schema and the
  objectives' sections read from their classes: :mod:`~invlearn.training.schema`);
  :mod:`~invlearn.training.families`: the augmentation families' records (``model.method``);
  :mod:`~invlearn.training.build`: the learner (trunk x augmentation family x objective) and the data a config
  names; :mod:`~invlearn.training.tasks`: what each kind of task means for a learner.
* :mod:`~invlearn.training.task`: the Lightning module; :mod:`~invlearn.training.batches`: seeded batches;
  :mod:`~invlearn.training.seeds`: the run's generators; :mod:`~invlearn.training.progress`: the progress line.
* :mod:`~invlearn.training.run`: ``train``, ``resume`` and ``evaluate`` one run directory
  (:mod:`~invlearn.training.rundir`: its files, written atomically).
* :mod:`~invlearn.training.evaluation`: the run's test scores; :mod:`~invlearn.training.report`: the report of
  finished runs, beside the published numbers of :mod:`~invlearn.training.published`.

Layering: training imports data, objectives, metrics and everything below, never studies or the CLI.
"""
