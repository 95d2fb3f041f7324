"""Checking analytic gradients against central finite differences (use float64 inputs)."""
import warnings

import numpy as np

from .._core.tensor import Tensor, wrap
from .engine import grad
from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when an analytic Jacobian disagrees with the numerical one."""


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func, inputs):
    return [o for o in _tuple(func(*inputs)) if isinstance(o, Tensor) and o.is_floating_point()]


def numerical_jacobian(func, inputs, i, eps):
    """J[k][out_elem, in_elem] for each output k, by central differences on input i."""
    x = inputs[i]._data
    flat = x.reshape(-1)         # a view: inputs are made contiguous by the caller
    cols = []
    with no_grad():
        for j in range(flat.size):
            orig = flat[j].copy()
            flat[j] = orig + eps
            plus = [o._data.astype(np.float64).ravel() for o in _outputs(func, inputs)]
            flat[j] = orig - eps
            minus = [o._data.astype(np.float64).ravel() for o in _outputs(func, inputs)]
            flat[j] = orig
            cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    n_out = len(cols[0]) if cols else len(_outputs(func, inputs))
    outs = _outputs(func, inputs)
    return [np.stack([c[k] for c in cols], axis=1) if cols
            else np.zeros((outs[k]._data.size, 0)) for k in range(n_out)]


def analytical_jacobian(func, inputs, i):
    """J[k] for each output k with respect to input i, one VJP per output element."""
    outs = _outputs(func, inputs)
    x = inputs[i]
    jac = []
    for o in outs:
        rows = np.zeros((o._data.size, x._data.size))
        if o.requires_grad:
            for r in range(o._data.size):
                seed = np.zeros(o._data.size, dtype=o._data.dtype)
                seed[r] = 1
                (g,) = grad(o, x, wrap(seed.reshape(o._data.shape)), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    rows[r] = g._data.astype(np.float64).ravel()
        jac.append(rows)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare ``func``'s gradients with central finite differences.

    Every input that requires grad is perturbed element by element (in place, restored
    afterwards); use float64 inputs, as lower precision gives unreliable differences (a
    warning says so).

    Args:
        func: a function of ``inputs`` returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of tensors (and other arguments passed through).
        eps: the finite-difference step.
        atol, rtol: the tolerances for comparing the two Jacobians.
        raise_exception: raise on a mismatch (default) rather than return False.

    Returns:
        True when all Jacobians match. A mismatch raises :class:`GradcheckError` naming the
        output, input and elements that disagree, or returns False.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
        >>> tg.autograd.gradcheck(tg.sin, (x,))
        True
    """
    inputs = list(_tuple(inputs))
    for n, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                warnings.warn(f"gradcheck: input {n} has dtype {t.dtype}; finite differences "
                              "are only reliable in float64", stacklevel=2)
            if not t._data.flags.c_contiguous or not t._data.flags.writeable:
                inputs[n] = t = wrap(np.ascontiguousarray(t._data).copy(), t._grad_fn)
                t._requires_grad = True
    for n, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        num = numerical_jacobian(func, inputs, n, eps)
        ana = analytical_jacobian(func, inputs, n)
        if len(num) != len(ana):
            raise GradcheckError(
                f"gradcheck: the function gave {len(num)} floating outputs under finite "
                f"differences but {len(ana)} when differentiated; it must give the same outputs "
                "in both (does it depend on grad mode?).")
        for k, (a, m) in enumerate(zip(ana, num)):
            bad = ~np.isclose(a, m, atol=atol, rtol=rtol, equal_nan=True)
            if bad.any():
                r, c = map(int, np.argwhere(bad)[0])
                out_shape = _outputs(func, inputs)[k]._data.shape
                msg = (f"gradcheck: Jacobian mismatch for output {k} with respect to input {n}: "
                       f"at output element {_index(r, out_shape)}"
                       f" and input element "
                       f"{_index(c, t._data.shape)}, "
                       f"numerical {m[r, c]:.6g} vs analytical {a[r, c]:.6g} "
                       f"({int(bad.sum())} of {bad.size} entries differ; atol={atol}, "
                       f"rtol={rtol}).\nnumerical:\n{m}\nanalytical:\n{a}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0):
    """Check second derivatives: :func:`gradcheck` of the map (inputs, grad_outputs) -> VJP.

    Args:
        func, inputs, eps, atol, rtol, raise_exception: as for :func:`gradcheck`.
        grad_outputs: cotangents for the outputs; by default random float64 tensors shaped
            like the outputs, drawn with NumPy from ``seed``.
        seed: the seed for the default ``grad_outputs``.

    Returns:
        True, or as for :func:`gradcheck` on a mismatch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
        >>> tg.autograd.gradgradcheck(lambda t: tg.tanh(t) * t, (x,))
        True
    """
    inputs = tuple(_tuple(inputs))
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(wrap(rng.standard_normal(o._data.shape)).requires_grad_()
                             for o in outs)
    grad_outputs = tuple(_tuple(grad_outputs))
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    n = len(inputs)

    def vjp_fn(*args):
        # NOTE: grad mode on even inside numerical_jacobian's no_grad: the VJP is the function
        # being differenced, so it must run (without it every output vanished and nothing was
        # compared).
        with enable_grad():
            ins, gos = args[:n], args[n:]
            outs = [o for o in _outputs(func, ins) if o.requires_grad]
            if not outs:
                return ()
            gs = grad(outs, [ins[i] for i in diff], list(gos[:len(outs)]), create_graph=True,
                      allow_unused=True)
            return tuple(g for g in gs if g is not None)

    return gradcheck(vjp_fn, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
