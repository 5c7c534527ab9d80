"""JAX (and the generic path): plain keras.ops, traced and fused by XLA.

Under ``keras.distribution`` the norms are computed by XLA over whole
(sharded) arrays, so a block's norm is the norm of the whole variable.
"""

from keras import ops

try:
    from jax.experimental.sparse import JAXSparse
except ImportError:  # the generic path, for a backend without JAX
    JAXSparse = ()


def dense(gradient):
    # BCOO, BCSR, ...: todense() sums the values of repeated indices.
    if isinstance(gradient, JAXSparse):
        return gradient.todense()
    return gradient


def update_step(optimizer, grads, variables, learning_rate):
    optimizer._grafted_update(list(grads), list(variables), learning_rate)


def squared_norms(tensors):
    return ops.stack([ops.sum(ops.square(ops.cast(t, "float32"))) for t in tensors])


def block_scales(optimizer, magnitude_sq, direction_sq, variables, learning_rate):
    # Traced under jit: the keras.ops form costs nothing per step.
    return optimizer._block_scales(magnitude_sq, direction_sq, variables, learning_rate)


def apply_scaled(optimizer, variables, directions, scales):
    for i, (variable, direction) in enumerate(zip(variables, directions)):
        step = ops.multiply(ops.cast(direction, "float32"), scales[i])
        optimizer.assign_sub(variable, ops.cast(step, variable.dtype))


def second_moment_increment(gradient, v, beta_2):
    # g * (g * decay) - v * decay: XLA does not share this g*g with the norm
    # of g (a shared g*g is materialized: an extra pass over memory; Keras's
    # form (g^2 - v) * decay measured 1.4-1.6x slower in AdaNSGDA's step).
    decay = 1 - beta_2
    return ops.subtract(ops.multiply(gradient, gradient * decay), v * decay)
