"""Fused backward primitives: the backward of tanh and of pow by a number, each one op
(Note [Fused backward rules]); ops/elementwise.py's tanh and pow rules use them."""
import numpy as np

from .registry import OpDef, apply, apply_binary, register

_ndarray = np.ndarray


# Note [Fused backward rules]
# A rule written as several tapegrad ops records that many nodes when the engine records the
# backward (create_graph=True), and each recorded node costs Python overhead far above the
# arithmetic on small tensors. The backward of the most used ops (tanh, pow by a number) is
# therefore one primitive of its own, ``tanh_backward(g, out) = g * (1 - out^2)`` and
# ``pow_backward(g, x, exponent) = g * exponent * x^(exponent - 1)``, with its own vjp and
# jvp (written with the same primitives, so every order stays one node per op); the forward
# rule's jvp is the same primitive applied to the tangent. On arrays (the fast path) it is
# one NumPy pass with a single temporary. They are covered through the tanh and pow rows of
# the op database (gradgrad, forward-over-reverse). Forward-over-reverse through tanh also
# takes the tangent of tanh_backward with both inputs dual: ``tanh_double_backward(a, o, u)
# = a * (1 - o^2) - 2 * o * u`` (a the tangent of g, u = g * to) is that one primitive too.
def _times_into(d, g):
    """``g * d``, written into ``d`` (a temporary of the caller's) when that keeps the result
    ``g * d`` would have."""
    if type(g) is _ndarray and type(d) is _ndarray and g.dtype == d.dtype \
            and g.shape == d.shape:
        return np.multiply(d, g, out=d)
    return g * d


def _tanh_backward(g, out):
    d = np.multiply(out, out)
    if type(d) is not _ndarray:          # 0-d: NumPy gave a scalar
        return g * (1 - d)
    np.subtract(1, d, out=d)
    return _times_into(d, g)


def tanh_backward_vjp(ctx, gg):
    """d(g * (1 - o^2)) = gg * (1 - o^2) for g; -2 * gg * g * o for o."""
    need = ctx.needs_input_grad
    g, o = ctx.x, ctx.y
    return (apply_binary(TANH_BACKWARD, gg, o) if need[0] else None,
            -2 * gg * g * o if need[1] else None)


def tanh_backward_jvp(ctx, tg, to):
    """t(g * (1 - o^2)) = tg * (1 - o^2) - 2 * g * o * to."""
    need = ctx.needs_input_grad
    g, o = ctx.x, ctx.y
    if not need[1]:
        return apply_binary(TANH_BACKWARD, tg, o)
    if need[0]:       # (the HVP's case, forward-over-reverse: two recorded ops, not four)
        return apply(TANH_DOUBLE_BACKWARD, (tg, o, g * to))
    # (2 * g * to * o as pow_backward(g * to, o, 2): two recorded ops, not three)
    return -apply_binary(POW_BACKWARD, g * to, o, _SQUARE)


_SQUARE = {"exponent": 2}
TANH_BACKWARD = register(OpDef("tanh_backward", _tanh_backward, tanh_backward_vjp,
                               tanh_backward_jvp, save=("x", "y"), broadcasts=True,
                               save_for={"x": 1}))


def _tanh_double_backward(a, o, u):
    return a * (1 - o * o) - 2 * o * u


def tanh_double_backward_vjp(ctx, gg):
    """d(a * (1 - o^2) - 2 * o * u) = gg * (1 - o^2) for a; -2 * gg * (o * a + u) for o;
    -2 * gg * o for u."""
    need = ctx.needs_input_grad
    o = ctx.y
    return (apply_binary(TANH_BACKWARD, gg, o) if need[0] else None,
            -2 * gg * (o * ctx.x + ctx.z) if need[1] else None,
            -apply_binary(POW_BACKWARD, gg, o, _SQUARE) if need[2] else None)


def tanh_double_backward_jvp(ctx, ta, to, tu):
    """t(a * (1 - o^2) - 2 * o * u) = ta * (1 - o^2) - 2 * o * tu - 2 * to * (o * a + u)."""
    need = ctx.needs_input_grad
    o = ctx.y
    t = apply(TANH_DOUBLE_BACKWARD, (ta, o, tu)) if need[0] or need[2] else None
    if not need[1]:
        return t
    s = -2 * to * (o * ctx.x + ctx.z)
    return s if t is None else t + s


# NOTE: tanh_backward's tangent when both of its inputs have one, as one primitive (Note
# [Fused backward rules]): a * (1 - o^2) - 2 * o * u, with a the tangent of g and u = g * to.
TANH_DOUBLE_BACKWARD = register(OpDef(
    "tanh_double_backward", _tanh_double_backward, tanh_double_backward_vjp,
    tanh_double_backward_jvp, save=("x", "y", "z"), broadcasts=True,
    save_for={"x": 1, "z": 1}))


def _pow_backward(g, x, exponent):
    # NOTE: PyTorch's gradient of x**0 is 0, even at x = 0 (where y*x**(y-1) is nan)
    if exponent == 0:
        return g * np.zeros_like(x)
    d = np.multiply(x, 2) if exponent == 2 else np.power(x, exponent - 1) * exponent
    return _times_into(d, g)


def pow_backward_vjp(ctx, gg):
    """d(g * p * x^(p-1)) = gg * p * x^(p-1) for g; p * (gg * g) * (p-1) * x^(p-2) for x."""
    need = ctx.needs_input_grad
    g, x, p = ctx.x, ctx.y, ctx.exponent
    return (apply_binary(POW_BACKWARD, gg, x, ctx.params) if need[0] else None,
            apply_binary(POW_BACKWARD, gg * (g * p), x, {"exponent": p - 1}) if need[1] else None)


def pow_backward_jvp(ctx, tg, tx):
    """t(g * p * x^(p-1)) = tg * p * x^(p-1) + p * (g * tx) * (p-1) * x^(p-2)."""
    need = ctx.needs_input_grad
    g, x, p = ctx.x, ctx.y, ctx.exponent
    if not need[1]:
        return apply_binary(POW_BACKWARD, tg, x, ctx.params)
    # (g * p first: a constant g, as a recorded backward's seed often is, records nothing)
    t = apply_binary(POW_BACKWARD, (g * p) * tx, x, {"exponent": p - 1})
    return apply_binary(POW_BACKWARD, tg, x, ctx.params) + t if need[0] else t


POW_BACKWARD = register(OpDef("pow_backward", _pow_backward, pow_backward_vjp,
                              pow_backward_jvp, save=("x", "y"), broadcasts=True,
                              save_for={"x": 1}))
