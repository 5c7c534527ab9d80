"""Build the optimizers compared in the experiments by name."""

from __future__ import annotations

from typing import Any

import keras

from keras_graft import optimizers as kg_optimizers
from keras_graft._validation import check_choice

#: Optimizer names understood by `make_optimizer`, with a display label.
OPTIMIZERS: dict[str, str] = {
    "sgda": "SGDA",
    "nsgda": "nSGDA",
    "adam": "Adam",
    "ada_nsgda": "Ada-nSGDA",
    "ada_dir": "AdaDir (reverse graft)",
}
#: The optimizer class of each name.
_CLASSES: dict[str, type[keras.optimizers.Optimizer]] = {
    "sgda": keras.optimizers.SGD,
    "nsgda": kg_optimizers.NSGDA,
    "adam": keras.optimizers.Adam,
    "ada_nsgda": kg_optimizers.AdaNSGDA,
    "ada_dir": kg_optimizers.AdaDir,
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
    optimizer_class = _CLASSES[check_choice(name, "name", list(OPTIMIZERS))]
    return optimizer_class(learning_rate, **options)
