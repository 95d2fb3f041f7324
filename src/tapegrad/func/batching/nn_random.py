"""vmap's randomness='different' for the dropouts (dropout, dropout1d/2d/3d, alpha and
feature alpha dropout, scaled_dot_product_attention's dropout_p), rrelu's slopes and
gumbel_softmax's noise without a loop: the values are drawn once for the whole batch, shape
(B,) + the example's, so every example gets its own; they broadcast against the physical
tensor as each example's against it.

The random ops ask vmap's randomness mode before every draw (_core/batched.py
vmap_randomness), which sends 'different' to the loop; the draw here is the batch's own, so
it runs with this vmap's level hidden from that check (outer vmaps still answer for
theirs). 'same' and 'error' are left to the functions: one draw shared by all, or refused."""
import contextlib

from ..._core.state import STATE
from ..._core.tensor import Tensor
from . import public_rule


@contextlib.contextmanager
def drawing_for(level):
    """Random draws inside are ``level``'s physical ones (one value per example)."""
    levels = STATE.vmap_levels
    STATE.vmap_levels = tuple(lv for lv in levels if lv is not level)
    try:
        yield
    finally:
        STATE.vmap_levels = levels


@public_rule("dropout_mask")
def dropout_mask(args, batched, kw, size):
    level = kw["level"]
    if level.randomness != "different":
        return None
    from ...nn.functional.dropout import _scale_by, dropout_factors, per_example_dropout
    x, noise = args[0], kw["noise_shape"]

    def physical_noise(shape):          # the example's mask shape behind the batch dim
        return (shape[0],) + tuple(noise(tuple(shape[1:])))
    p, dtype, alpha, name = kw["p"], kw["dtype"], kw["alpha"], kw["name"]
    with drawing_for(level):
        # an outer vmap's tensor (nested vmaps): that vmap's randomness decides next
        out = per_example_dropout(x, p, dtype, physical_noise, alpha, False, name) \
            if STATE.vmap_levels else None
        if out is None:
            factor, shift = dropout_factors(physical_noise(tuple(x.shape)), p, dtype, alpha)
            out = _scale_by(x, factor, False, name, shift)
    return out


dropout_mask.takes_level = True


@public_rule("random_draw")
def random_draw(args, batched, kw, size):
    """rrelu's slopes and gumbel_softmax's noise: ``draw`` for the physical shape."""
    level = kw["level"]
    if level.randomness != "different":
        return None
    from ...nn.functional.dropout import per_example_draw
    from ...ops.creation import as_tensor
    with drawing_for(level):
        out = per_example_draw(args[0], kw["draw"])     # an outer vmap's level next
    return out if isinstance(out, Tensor) else as_tensor(out)


random_draw.takes_level = True
