"""The GAN step's backend modules: gradients, their application, input
gradients, the trainer's `train_step`/`test_step` signatures, and the norms of
the pace (fused on torch). `common.py` holds the `keras.ops` versions the
others share; `keras_graft._backend.backend_module` picks the module."""
