"""JAX: the generic update, traced and fused by XLA under ``jit``.

Under ``keras.distribution`` the norms are computed by XLA over whole
(sharded) arrays, so a block's norm is the norm of the whole variable.
"""


def update_step(optimizer, grads, variables, learning_rate):
    optimizer._grafted_update(list(grads), list(variables), learning_rate)
