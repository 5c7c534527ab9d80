"""Block-wise grafting: the machinery shared by every optimizer of this package.

Every optimizer here computes, for each block ``b`` of parameters, a *magnitude*
``mu_b >= 0`` and a *direction* ``d_b`` (a tensor per variable of the block), and
moves the block by

    theta_b <- theta_b - mu_b * d_b / ||d_b||        (no move when d_b == 0).

A subclass supplies the rule (``_rule``: per variable, its contribution to
``mu_b ** 2`` and its direction); this class groups variables into blocks,
reduces norms in float32, and applies the step. Blocks are set by
``granularity``:

- ``"variable"``: each Keras variable is a block (a kernel and its bias apart);
- ``"layer"``: the variables of one Keras layer together;
- ``"global"``: all variables given to the optimizer together.

Decoupled weight decay, clipping, EMA, gradient accumulation and loss scaling
are the Keras base optimizer's and run around the graft, as for any optimizer.

Sparse gradients (``tf.IndexedSlices`` on TensorFlow, ``jax.experimental.sparse``
arrays such as ``BCOO`` on JAX; an ``Embedding`` layer's, for instance) are made
dense as they enter ``apply``, before clipping, loss-scale unscaling, gradient
accumulation and the update, so that a sparse gradient takes exactly the step
of its dense form (the values of repeated rows summed). A sparse update would
pay only where neither the state nor the direction changes outside the rows in
the gradient: nSGDA without momentum (its block norms could be read off the
summed values) and a graft of two momentum-free SGDs, and then only without
weight decay, which moves every row. Elsewhere every row moves whatever the
gradient (momentum and Adam's moments decay in every row, AdaDir's direction
is Adam's, AdaNSGDA's magnitude is the norm of Adam's whole step), so one
dense path serves all.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops

from keras_graft._validation import check_bool, check_choice, check_float, fail
from keras_graft.optimizers import _backend

GRANULARITIES = ("variable", "layer", "global")


def check_learning_rate(learning_rate, name: str = "learning_rate"):
    """A float ``>= 0`` (as a float), a ``keras.Variable``, a tensor or a schedule."""
    expected = (
        "a finite float >= 0, a keras.Variable or a "
        "`keras.optimizers.schedules.LearningRateSchedule`"
    )
    if isinstance(learning_rate, bool):
        fail(TypeError, name, expected, learning_rate)
    if isinstance(learning_rate, numbers.Real):
        return check_float(learning_rate, name, low=0.0)
    if not (
        callable(learning_rate)
        or isinstance(learning_rate, keras.Variable)
        or ops.is_tensor(learning_rate)
    ):
        fail(TypeError, name, expected, learning_rate)
    return learning_rate


def _layer_of(variable) -> str:
    """The layer a variable belongs to, read off its path ("model/dense/kernel")."""
    path = getattr(variable, "path", None) or variable.name
    path = path.split(":")[0]
    return path.rsplit("/", 1)[0] if "/" in path else path


def block_ids(variables, granularity: str) -> list[int]:
    """Block index of each variable, in order of first appearance."""
    if granularity == "variable":
        return list(range(len(variables)))
    if granularity == "global":
        return [0] * len(variables)
    ids: dict[str, int] = {}
    return [ids.setdefault(_layer_of(v), len(ids)) for v in variables]


class GraftedOptimizer(keras.optimizers.Optimizer):
    """Base class: block-wise magnitude times normalized direction.

    Subclasses implement ``_rule`` and may override ``_block_magnitude``.
    Not meant to be used directly. Sparse gradients (``tf.IndexedSlices``, JAX
    ``BCOO``) are made dense in ``apply``; the module's docstring says why.

    `skip_nonfinite` and the keyword arguments below are those of every
    optimizer of this package, documented here once. The keyword arguments are
    Keras's base optimizer's, and act around the graft as for any optimizer.

    Args:
        learning_rate (float | keras.optimizers.schedules.LearningRateSchedule):
            the learning rate.
        granularity (str): "variable", "layer" or "global": what a block is.
        skip_nonfinite (bool): if True, a step whose gradients contain NaN or
            Inf leaves the variables and the optimizer's state (its
            `iterations` included) unchanged, and `skipped_steps` counts it,
            as optax's `apply_if_finite`. Defaults to False.
        **kwargs (Any): Keras's base-optimizer arguments, below.

    Keyword Args:
        name (str): the optimizer's name, which prefixes the names of its
            variables. Defaults to the class's own (e.g. "ada_nsgda").
        weight_decay (float | None): decoupled weight decay: before each step,
            every variable is multiplied by ``1 - weight_decay * learning_rate``
            (as in Keras's AdamW). Defaults to None (no decay).
        clipnorm (float | None): clip each variable's gradient to this norm.
            Defaults to None.
        clipvalue (float | None): clip each gradient entry to
            ``[-clipvalue, clipvalue]``. Defaults to None.
        global_clipnorm (float | None): clip all gradients together to this
            global norm. Defaults to None.
        use_ema (bool): keep an exponential moving average (EMA) of the
            variables. Defaults to False.
        ema_momentum (float): the EMA's momentum, with ``average <-
            ema_momentum * average + (1 - ema_momentum) * value``; only with
            `use_ema`. Defaults to 0.99.
        ema_overwrite_frequency (int | None): every this many steps, overwrite
            the variables with their EMA; with None, only when
            `finalize_variable_values()` is called (`fit` calls it after the
            last epoch). Only with `use_ema`. Defaults to None.
        loss_scale_factor (float | None): the loss is multiplied by this
            factor and the gradients divided by it before the step (against
            underflow in mixed precision). Defaults to None.
        gradient_accumulation_steps (int | None): update the variables only
            every this many steps, with the mean of the gradients of those
            steps. Defaults to None.
    """

    def __init__(
        self,
        learning_rate,
        granularity: str = "variable",
        skip_nonfinite: bool = False,
        **kwargs,
    ):
        learning_rate = check_learning_rate(learning_rate)
        granularity = check_choice(granularity, "granularity", GRANULARITIES)
        skip_nonfinite = check_bool(skip_nonfinite, "skip_nonfinite")
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.granularity = granularity
        self.skip_nonfinite = skip_nonfinite

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._block_of = block_ids(var_list, self.granularity)
        self._size_of = [int(_num_elements(v.shape)) for v in var_list]
        if self.skip_nonfinite:
            self._skipped_steps = self.add_variable(
                shape=(), dtype="int", initializer="zeros", name="skipped_steps"
            )
        self._build_rule(var_list)

    @property
    def skipped_steps(self):
        """Steps skipped for non-finite gradients (0 unless `skip_nonfinite`)."""
        if not self.skip_nonfinite or not self.built:
            return 0
        return self._skipped_steps

    def apply(self, grads, trainable_variables=None):
        # Sparse gradients are made dense before anything reads them (see the
        # module's docstring); Keras's clipping and accumulation then see the
        # same gradient whatever its form.
        grads = [None if g is None else _backend.dense(g) for g in grads]
        if not self.skip_nonfinite:
            return super().apply(grads, trainable_variables)
        if trainable_variables is None:
            if not self.built:
                return super().apply(grads, trainable_variables)  # Keras's error
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
        # Apply, then put back the previous state if any gradient is not finite
        # (a select, not a branch: the same on every backend and under jit).
        state = [
            v
            for v in trainable_variables + self.variables
            if v is not self._skipped_steps
        ]
        before = [ops.copy(v.value) for v in state]
        super().apply(grads, trainable_variables)
        finite = ops.all(
            ops.stack([ops.all(ops.isfinite(g)) for g in grads if g is not None])
        )
        for variable, old in zip(state, before):
            variable.assign(ops.where(finite, variable.value, old))
        self._skipped_steps.assign_add(
            ops.cast(ops.logical_not(finite), self._skipped_steps.dtype)
        )

    def _build_rule(self, var_list):
        """Creates the rule's state (slots). Default: none."""

    def add_variable_from_reference(
        self, reference_variable, name=None, initializer="zeros"
    ):
        """A slot like `reference_variable`; float32 when that one is 16-bit.

        Second moments of float16 gradients overflow float16 (a gradient of 300
        squares to 9e4 > 65504), so slots of float16/bfloat16 variables are kept
        in float32.
        """
        dtype = keras.backend.standardize_dtype(reference_variable.dtype)
        if dtype not in ("float16", "bfloat16"):
            return super().add_variable_from_reference(
                reference_variable, name=name, initializer=initializer
            )
        path = getattr(reference_variable, "path", None) or str(reference_variable.name)
        return self.add_variable(
            shape=reference_variable.shape,
            initializer=initializer,
            dtype="float32",
            name=f"{path.replace('/', '_').replace(':', '_')}_{name or 'var'}",
            layout=getattr(reference_variable, "_layout", None),
        )

    def _rule(self, gradient, variable, learning_rate):
        """Per variable: updates the rule's state and returns its part of the step.

        Args:
            gradient (Tensor): the variable's gradient.
            variable (keras.Variable): the variable.
            learning_rate (Tensor): the current learning rate.

        Returns:
            tuple[Tensor | None, Tensor]: ``(magnitude_sq, direction)``, this
            variable's contribution to the squared magnitude of its block (a
            float32 scalar, or ``None`` when ``_block_magnitude`` does not need
            it) and its direction tensor.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `_rule`.")

    @staticmethod
    def _sum_of_squares(tensor):
        """``sum(tensor ** 2)`` in float32, for a rule's magnitude contribution.

        The backend's own reduction (``_backend.squared_norms``): on
        TensorFlow one read of the tensor, no squared temporary.
        """
        return _backend.squared_norms([tensor])[0]

    def _block_magnitude(self, magnitude_sq, block_size, learning_rate):
        """Each block's step length (a vector over blocks).

        Args:
            magnitude_sq (Tensor | None): per block, the sum of its variables'
                contributions returned by ``_rule`` (``None`` if the rule
                returns ``None``).
            block_size (Tensor): per block, its number of scalar parameters
                (float32).
            learning_rate (Tensor): the current learning rate (float32 scalar).

        Returns:
            Tensor: the step length of each block (float32), or one float32
            scalar for all of them.
        """
        return ops.sqrt(magnitude_sq)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        _backend.update_step(self, grads, trainable_variables, learning_rate)

    def _grafted_update(self, grads, variables, learning_rate, fused_rule=None):
        """One update: rules, block norms, step (the same on every backend).

        Args:
            grads: gradients, one per variable.
            variables: the variables to update.
            learning_rate: the current learning rate.
            fused_rule: optional form of ``_rule`` over all variables at once
                (a backend's multi-tensor path, see ``_backend/torch.py``),
                called as ``fused_rule(self, grads, variables, learning_rate)``
                and returning the magnitude contributions (a float32 vector
                or None) and the list of directions.
        """
        if fused_rule is None:
            parts = [self._rule(g, v, learning_rate) for g, v in zip(grads, variables)]
            magnitude_sq = [p[0] for p in parts]
            directions = [p[1] for p in parts]
        else:
            magnitude_sq, directions = fused_rule(
                self, list(grads), list(variables), learning_rate
            )
        if isinstance(magnitude_sq, (list, tuple)):
            if magnitude_sq[0] is None:
                magnitude_sq = None
            else:
                magnitude_sq = ops.stack([ops.cast(m, "float32") for m in magnitude_sq])
        scales = _backend.block_scales(
            self,
            magnitude_sq,
            _backend.squared_norms(directions),
            variables,
            learning_rate,
        )
        _backend.apply_scaled(self, variables, directions, scales)

    def _block_scales(self, magnitude_sq, direction_sq, variables, learning_rate):
        """Per variable: its block's ``mu_b / ||d_b||`` (0 when ``d_b == 0``).

        Args:
            magnitude_sq: per variable, its contribution to its block's squared
                magnitude (a float32 vector), or None.
            direction_sq: per variable, its direction's squared norm (a
                float32 vector).
            variables: the variables, in the same order.
            learning_rate: the current learning rate.

        Returns:
            A float32 vector of per-variable scales. Its cost does not grow
            with the number of variables. (PyTorch, which runs it eagerly,
            runs the same ops without `keras.ops`: `_backend/torch.py`.)
        """
        ids, num_blocks, block_size = self._block_layout(variables)

        def per_block(values):
            if num_blocks == len(ids):
                return values
            if num_blocks == 1:
                return ops.expand_dims(ops.sum(values), 0)
            return ops.segment_sum(values, ops.convert_to_tensor(ids), num_blocks)

        d_sq = per_block(direction_sq)
        m_sq = None if magnitude_sq is None else per_block(magnitude_sq)
        magnitude = self._block_magnitude(
            m_sq, ops.convert_to_tensor(block_size), ops.cast(learning_rate, "float32")
        )
        positive = ops.greater(d_sq, 0.0)
        safe = ops.where(positive, d_sq, 1.0)
        scale = ops.where(positive, magnitude / ops.sqrt(safe), 0.0)
        if num_blocks != len(ids):
            scale = ops.take(scale, ops.convert_to_tensor(ids), axis=0)
        return scale

    def _block_layout(self, variables):
        """Block of each variable, number of blocks and their sizes (cached).

        Blocks are renumbered over the variables present (those without a
        gradient are dropped by Keras before the update).
        """
        # Keyed by the variables' identities (the optimizer holds them, so no
        # id is reused): one C-level pass, where looking up each variable's
        # index costs a Python call per variable per step on PyTorch.
        key = tuple(map(id, variables))
        cache = self.__dict__.setdefault("_layout_cache", {})
        if key not in cache:
            index = tuple(self._get_variable_index(v) for v in variables)
            ids = [self._block_of[i] for i in index]
            dense = {b: k for k, b in enumerate(dict.fromkeys(ids))}
            ids = [dense[b] for b in ids]
            block_size = [0] * len(dense)
            for i, b in zip(index, ids):
                block_size[b] += self._size_of[i]
            # numpy arrays: converting them is cheap on every backend (a list
            # goes through a slow tree traversal on torch).
            cache[key] = (
                np.asarray(ids, np.int32),
                len(dense),
                np.asarray(block_size, np.float32),
            )
        return cache[key]

    def get_config(self):
        config = super().get_config()
        config["granularity"] = self.granularity
        config["skip_nonfinite"] = self.skip_nonfinite
        return config


def _num_elements(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n
