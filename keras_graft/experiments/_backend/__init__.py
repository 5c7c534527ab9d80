"""The experiments' backend modules, one per backend, picked by
`keras_graft._backend.backend_module`. Each provides:

- ``train_group(config, problem, runs, progress)``: train synthetic runs that
  share an optimizer (`keras_graft.experiments.synthetic.train_synthetic`
  groups them): vectorized on JAX, one plain loop per run elsewhere;
- ``init_worker()``: what a worker process of `experiments.workers` sets
  before its first job (one intra-op thread on PyTorch).
"""
