"""Build the optimizers compared in the experiments by name."""

from __future__ import annotations

from typing import Any

import keras

from keras_graft import optimizers as kg_optimizers

#: Optimizer names understood by `make_optimizer`, with a display label.
OPTIMIZERS: dict[str, str] = {
    "sgda": "SGDA",
    "nsgda": "nSGDA",
    "adam": "Adam",
    "ada_nsgda": "Ada-nSGDA",
    "ada_dir": "AdaDir (reverse graft)",
}


def make_optimizer(
    name: str, learning_rate: Any, **options: Any
) -> keras.optimizers.Optimizer:
    """One of the compared optimizers.

    - ``"sgda"``: `keras.optimizers.SGD` (plain gradient steps);
    - ``"nsgda"``: `keras_graft.optimizers.NSGDA` (options: ``scale``,
      ``granularity``, ``momentum``);
    - ``"adam"``: `keras.optimizers.Adam` (options: ``beta_1``, ``beta_2``,
      ``epsilon``);
    - ``"ada_nsgda"``: `keras_graft.optimizers.AdaNSGDA`;
    - ``"ada_dir"``: `keras_graft.optimizers.AdaDir`.

    Args:
        name (str): One of `OPTIMIZERS`.
        learning_rate (Any): A float or a Keras learning-rate schedule.
        **options (Any): Keyword arguments of that optimizer.

    Returns:
        keras.optimizers.Optimizer: A new optimizer instance.
    """
    if name == "sgda":
        return keras.optimizers.SGD(learning_rate, **options)
    if name == "nsgda":
        return kg_optimizers.NSGDA(learning_rate, **options)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, **options)
    if name == "ada_nsgda":
        return kg_optimizers.AdaNSGDA(learning_rate, **options)
    if name == "ada_dir":
        return kg_optimizers.AdaDir(learning_rate, **options)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {list(OPTIMIZERS)}")
