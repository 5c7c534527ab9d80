"""The experiments' backend modules, one per backend, picked by
`keras_graft._backend.backend_module`. Each provides:

- ``train_group(config, problem, runs, progress)``: train synthetic runs that
  share an optimizer (`keras_graft.experiments.synthetic.train_synthetic`
  groups them): vectorized on JAX and PyTorch, one plain loop per run on TensorFlow;
- ``VECTORIZED``: whether ``train_group`` trains a group at once (JAX and
  PyTorch) or run after run (TensorFlow, which `reproduce` says up front);
- ``init_worker()``: what a worker process of `experiments.workers` sets
  before its first job (one intra-op thread on PyTorch).
"""
