"""Sparse gradients (an `Embedding`'s) take the step of their dense form.

On TensorFlow an `Embedding` layer's gradient is a `tf.IndexedSlices`; on JAX a
caller may pass `jax.experimental.sparse.BCOO` gradients. Every optimizer of the
package, with the Keras options that read gradients, runs side by side on a
sparse gradient and on its dense form, as Keras's `test_sparse_correctness`
does, but with rows repeated in the gradient (their values add up), several
steps, and a dense variable next to the sparse one (block norms mix both).
Keras makes no sparse gradients on PyTorch: there only the training runs.
"""

import keras
import numpy as np
import pytest

from keras_graft import optimizers

BACKEND = keras.backend.backend()
VOCAB, DIM, LENGTH = 8, 4, 3

OPTIMIZERS = {
    "ada_nsgda": lambda: optimizers.AdaNSGDA(0.05),
    "ada_nsgda_global_weight_decay": lambda: optimizers.AdaNSGDA(
        0.05, granularity="global", weight_decay=0.1
    ),
    "ada_nsgda_layer_clipnorm": lambda: optimizers.AdaNSGDA(
        0.05, granularity="layer", clipnorm=1.0
    ),
    "ada_nsgda_accumulation": lambda: optimizers.AdaNSGDA(
        0.05, gradient_accumulation_steps=2
    ),
    "ada_dir": lambda: optimizers.AdaDir(0.05),
    "ada_dir_layer_clipvalue": lambda: optimizers.AdaDir(
        0.05, granularity="layer", clipvalue=0.5
    ),
    "nsgda": lambda: optimizers.NSGDA(0.05),
    "nsgda_global": lambda: optimizers.NSGDA(0.05, granularity="global"),
    "nsgda_layer_sqrt_size": lambda: optimizers.NSGDA(
        0.01, scale="sqrt_size", granularity="layer"
    ),
    "nsgda_momentum": lambda: optimizers.NSGDA(0.05, momentum=0.9),
    "nsgda_nesterov_global_clipnorm": lambda: optimizers.NSGDA(
        0.05, momentum=0.5, nesterov=True, granularity="global", global_clipnorm=1.0
    ),
    "nsgda_weight_decay_loss_scale": lambda: optimizers.NSGDA(
        0.05, momentum=0.5, weight_decay=0.1, loss_scale_factor=4.0
    ),
    "graft_adam_sgd": lambda: optimizers.Graft(
        keras.optimizers.Adam(0.05), keras.optimizers.SGD(0.1)
    ),
    "graft_adam_adam_layer": lambda: optimizers.Graft(
        keras.optimizers.Adam(0.05), keras.optimizers.Adam(0.01), granularity="layer"
    ),
    "graft_sgd_momentum_adam_global": lambda: optimizers.Graft(
        keras.optimizers.SGD(0.1, momentum=0.9),
        keras.optimizers.Adam(0.01),
        granularity="global",
    ),
    "graft_adamw_nesterov": lambda: optimizers.Graft(
        keras.optimizers.AdamW(0.05, weight_decay=0.1),
        keras.optimizers.SGD(0.1, momentum=0.5, nesterov=True),
    ),
    "graft_rmsprop_lion": lambda: optimizers.Graft(
        keras.optimizers.RMSprop(0.01), keras.optimizers.Lion(1e-3)
    ),
}


def _embedding_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((LENGTH,), dtype="int32"),
            keras.layers.Embedding(VOCAB, DIM, name="embed"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="out"),
        ]
    )


def _gradient_steps(steps, seed=0, nan_at=None):
    """Per step: (rows, their values) for the table, dense kernel and bias grads.

    Half the table's rows are in each gradient; two of them twice, so that the
    dense form sums their values (two terms: the sum is exact in any order).
    """
    rng = np.random.default_rng(seed)
    out = []
    for t in range(steps):
        rows = rng.choice(VOCAB, size=VOCAB // 2, replace=False)
        rows = np.concatenate([rows, rows[:2]]).astype("int32")
        values = (3.0 - 0.4 * t) * rng.standard_normal((len(rows), DIM))
        values = values.astype("float32")
        if t == nan_at:
            values[1, 2] = np.nan
        kernel = (0.3 * rng.standard_normal((LENGTH * DIM, 2))).astype("float32")
        bias = (0.01 * rng.standard_normal(2)).astype("float32")
        out.append((rows, values, kernel, bias))
    return out


def _table_gradient(rows, values, sparse):
    if not sparse:
        table = np.zeros((VOCAB, DIM), "float32")
        np.add.at(table, rows, values)
        return keras.ops.convert_to_tensor(table)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.IndexedSlices(
            tf.constant(values), tf.constant(rows), tf.constant([VOCAB, DIM])
        )
    import jax.experimental.sparse as jax_sparse
    import jax.numpy as jnp

    return jax_sparse.BCOO(
        (jnp.asarray(values), jnp.asarray(rows[:, None])), shape=(VOCAB, DIM)
    )


def _gradients(step, sparse):
    rows, values, kernel, bias = step
    return [
        _table_gradient(rows, values, sparse),
        keras.ops.convert_to_tensor(kernel),
        keras.ops.convert_to_tensor(bias),
    ]


def _run(optimizer, sparse, steps):
    """Model weights after each step and the optimizer's state at the end.

    TensorFlow: `apply`, as `fit` calls it. JAX: a jitted `stateless_apply`,
    as the JAX trainer calls it.
    """
    variables = _embedding_model().trainable_variables
    history = []
    if BACKEND == "tensorflow":
        for step in steps:
            optimizer.apply(_gradients(step, sparse), variables)
            history.append([keras.ops.convert_to_numpy(v) for v in variables])
        return history, [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
    import jax

    optimizer.build(variables)
    apply = jax.jit(optimizer.stateless_apply)
    values = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    for step in steps:
        values, state = apply(state, _gradients(step, sparse), values)
        history.append([np.asarray(v) for v in values])
    return history, [np.asarray(s) for s in state]


def _assert_same(actual, expected):
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)


@pytest.mark.backend("tensorflow", "jax")
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_gradient_takes_the_dense_step(name):
    steps = _gradient_steps(4, seed=len(name))
    sparse_history, sparse_state = _run(OPTIMIZERS[name](), True, steps)
    dense_history, dense_state = _run(OPTIMIZERS[name](), False, steps)
    initial = [keras.ops.convert_to_numpy(v) for v in _embedding_model().weights]
    for sparse_values, dense_values in zip(sparse_history, dense_history):
        _assert_same(sparse_values, dense_values)
    _assert_same(sparse_state, dense_state)
    # Not two runs that did nothing: the table moved and stayed finite.
    assert np.all(np.isfinite(sparse_history[-1][0]))
    assert not np.allclose(sparse_history[-1][0], initial[0])


@pytest.mark.backend("tensorflow", "jax")
def test_nonfinite_sparse_gradient_is_skipped_as_the_dense_one():
    steps = _gradient_steps(3, seed=5, nan_at=1)

    def make():
        return optimizers.AdaNSGDA(0.05, granularity="layer", skip_nonfinite=True)

    sparse_history, sparse_state = _run(make(), True, steps)
    dense_history, dense_state = _run(make(), False, steps)
    for sparse_values, dense_values in zip(sparse_history, dense_history):
        _assert_same(sparse_values, dense_values)
    _assert_same(sparse_state, dense_state)
    # The NaN step moved nothing; the steps around it did.
    for after, before in zip(sparse_history[1], sparse_history[0]):
        np.testing.assert_array_equal(after, before)
    assert not np.allclose(sparse_history[2][0], sparse_history[1][0])
    assert all(np.all(np.isfinite(v)) for v in sparse_history[-1])


FIT = {
    "ada_nsgda": lambda: optimizers.AdaNSGDA(0.02),
    "ada_dir": lambda: optimizers.AdaDir(0.5),
    "nsgda": lambda: optimizers.NSGDA(0.1),
    "nsgda_momentum_global": lambda: optimizers.NSGDA(
        0.1, momentum=0.5, granularity="global"
    ),
    "graft_adam_sgd_layer": lambda: optimizers.Graft(
        keras.optimizers.Adam(0.02),
        keras.optimizers.SGD(momentum=0.9),
        granularity="layer",
    ),
}


@pytest.mark.parametrize("name", sorted(FIT))
def test_fit_trains_an_embedding(name):
    # The target is the mean of a value per token: an embedding can learn it.
    vocab, length = 20, 6
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, vocab, size=(256, length)).astype("int32")
    y = 3.0 * rng.standard_normal(vocab).astype("float32")[tokens].mean(axis=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((length,), dtype="int32"),
            keras.layers.Embedding(vocab, 8, name="embed"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, name="out"),
        ]
    )
    table = keras.ops.convert_to_numpy(model.get_layer("embed").embeddings)
    model.compile(optimizer=FIT[name](), loss="mse")
    history = model.fit(
        tokens, y[:, None], batch_size=32, epochs=6, shuffle=False, verbose=0
    )
    losses = history.history["loss"]
    trained = keras.ops.convert_to_numpy(model.get_layer("embed").embeddings)
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(trained))
    assert losses[-1] < 0.4 * losses[0], losses
    assert not np.allclose(trained, table)
    assert int(model.optimizer.iterations) == 6 * 8
