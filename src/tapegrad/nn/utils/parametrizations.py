"""Ready-made parametrizations, as PyTorch's torch.nn.utils.parametrizations: weight_norm,
spectral_norm and orthogonal, each registered with :func:`parametrize.register_parametrization`
so the state dict keys are PyTorch's (``parametrizations.weight.original0``, ...)."""
import numpy as np

from ..._core.tensor import Tensor, wrap
from ...autograd.grad_mode import no_grad
from ...ops.creation import _rng
from ...ops.linalg.solve import matrix_exp, solve
from ...ops.shape import cat
from .. import functional as F
from ..modules.module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---- weight_norm -----------------------------------------------------------------------------
def _norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every dim but ``dim``, kept as size-1 dims; over everything
    (a 0-d result) when ``dim`` is -1, which here means "no dim", as in PyTorch's weight norm."""
    if dim == -1:
        return (v * v).sum().sqrt()
    keep = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != keep)
    if not others:
        # NOTE: a 1-d tensor has nothing to reduce (sum over no dims would sum them all):
        # each element is its own slice, its norm |v|.
        return v.abs()
    return (v * v).sum(dim=others, keepdim=True).sqrt()


class _WeightNorm(Module):
    """w = g * v / ||v||, the norm taken over every dim but ``dim`` (Salimans & Kingma, 2016)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` by its magnitude and direction: w = g * v / ||v||.

    ``original0`` is g (the norms, shaped like the weight with size 1 in every dim but
    ``dim``) and ``original1`` is v (shaped like the weight); both start so that w is
    unchanged.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        dim: the dim whose slices get their own norm (0: one per output unit); None for one
            norm over the whole tensor.

    Returns:
        ``module``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.parametrizations import weight_norm
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.randn(3, 4))
        >>> m = weight_norm(m)
        >>> [tuple(p.shape) for p in m.parameters()], list(m.state_dict())[0]
        ([(3, 1), (3, 4)], 'parametrizations.weight.original0')
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


# ---- spectral_norm ---------------------------------------------------------------------------
def _normalized(x, eps):
    return x / max(float(np.linalg.norm(x)), eps)


class _SpectralNorm(Module):
    """W / sigma(W), sigma estimated by power iteration on W seen as a matrix (Miyato et al.,
    2018); the singular vector estimates are the buffers ``_u`` and ``_v``."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._matrix(weight._data)
            h, w = mat.shape
            rng = _rng(None)
            self.register_buffer("_u", wrap(_normalized(rng.standard_normal(h), eps)
                                            .astype(mat.dtype)))
            self.register_buffer("_v", wrap(_normalized(rng.standard_normal(w), eps)
                                            .astype(mat.dtype)))
            self._power_method(mat, 15)

    def _matrix(self, weight):
        """The weight (array or tensor) as a matrix: ``dim`` first, the rest flattened."""
        if self.dim != 0:
            order = (self.dim,) + tuple(d for d in range(weight.ndim) if d != self.dim)
            weight = weight.transpose(order) if isinstance(weight, np.ndarray) \
                else weight.permute(order)
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat, n_power_iterations):
        """Refine ``_u``, ``_v`` in place on the matrix's array (no graph: they are estimates)."""
        u, v = self._u._data, self._v._data
        for _ in range(n_power_iterations):
            u = _normalized(mat @ v, self.eps)
            v = _normalized(mat.T @ u, self.eps)
        self._u._data[...] = u
        self._v._data[...] = v
        self._u._bump()
        self._v._bump()

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._matrix(weight)
        if self.training:
            self._power_method(mat._data, self.n_power_iterations)
        # Copies: the graph keeps u and v for backward, and the next training-mode forward
        # updates the buffers in place.
        u, v = wrap(self._u._data.copy()), wrap(self._v._data.copy())
        sigma = u @ (mat @ v)
        return weight / sigma

    def right_inverse(self, value):
        return value


def _conv_transpose_classes():
    # Looked up by name: the convolution layers live in a sibling file of the layer library.
    from .. import modules
    return tuple(getattr(modules, n) for n in ("ConvTranspose1d", "ConvTranspose2d",
                                               "ConvTranspose3d") if hasattr(modules, n))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its largest singular value (spectral normalization).

    The singular value is estimated by power iteration on the weight reshaped to a matrix
    (``dim`` first); each access in training mode runs ``n_power_iterations`` steps and updates
    the estimates ``parametrizations.<name>.0._u`` / ``._v`` (buffers, in the state dict), eval
    mode reuses them. A 1-d weight is divided by its norm.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        n_power_iterations: power-iteration steps per access in training mode.
        eps: a floor for norms when normalising the estimates.
        dim: the output dim (default 0, or 1 for the ConvTranspose layers).

    Returns:
        ``module``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.parametrizations import spectral_norm
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.randn(4, 5))
        >>> m = spectral_norm(m, n_power_iterations=10)
        >>> round(tg.linalg.svdvals(m.weight.detach())[0].item(), 3)
        1.0
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, _conv_transpose_classes()) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---- orthogonal ------------------------------------------------------------------------------
_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(a, tau):
    """H_1 H_2 ... H_k applied to the first k columns of the identity, H_i = I - tau_i v_i v_i^T
    with v_i = e_i + a[..., :, i]; ``a`` (..., n, k), n >= k, must be zero on and above its
    diagonal. Recorded, so gradients reach ``a`` and ``tau``."""
    n, k = a.shape[-2], a.shape[-1]
    eye = np.eye(n, k, dtype=a._data.dtype)
    q = wrap(np.broadcast_to(eye, tuple(a.shape[:-2]) + (n, k)).copy())
    for i in reversed(range(k)):
        v = a[..., :, i] + wrap(eye[:, i])
        w = (v.unsqueeze(-1) * q).sum(dim=-2, keepdim=True)          # v^T Q, (..., 1, k)
        q = q - tau[..., i:i + 1].unsqueeze(-1) * v.unsqueeze(-1) * w
    return q


def _qr_orthogonal(a):
    """The Q of a (batched, square) array's QR with signs fixed so R's diagonal is positive."""
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(q):
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return np.allclose(np.swapaxes(q, -1, -2) @ q, np.eye(k), rtol=1e-5, atol=eps)


def _geqrf(a):
    """LAPACK's geqrf of each matrix in ``a`` (..., n, k): R on and above the diagonal, the
    Householder vectors below it, and their scalars tau."""
    batch = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    packed, taus = [], []
    for m in flat:
        h, tau = np.linalg.qr(m, mode="raw")     # h is the transposed (Fortran) layout
        packed.append(h.T)
        taus.append(tau)
    return (np.stack(packed).reshape(a.shape).astype(a.dtype),
            np.stack(taus).reshape(batch + (min(a.shape[-2:]),)).astype(a.dtype))


class _Orthogonal(Module):
    """Maps an unconstrained (batch of) matrix to one with orthonormal columns (rows when
    wide), through the matrix exponential or Cayley map of a skew-symmetric matrix, or a
    product of Householder reflections; with trivialization the result multiplies ``base``,
    an orthogonal matrix fixed at assignment time (Lezcano-Casado, 2019)."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x):
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            x = x.tril()
            if n != k:
                zeros = wrap(np.zeros(tuple(x.shape[:-2]) + (n, n - k), x._data.dtype))
                x = cat([x, zeros], dim=-1)
            a = x - x.mT
            if self.orthogonal_map == "matrix_exp":
                q = matrix_exp(a)
            else:
                eye = wrap(np.eye(n, dtype=a._data.dtype))
                q = solve(eye - 0.5 * a, eye + 0.5 * a)
            if n != k:
                q = q[..., :k]
        else:
            a = x.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
            q = _householder_product(a, tau)
            # NOTE: PyTorch multiplies by the diagonal converted to int (truncated, no
            # gradient): it carries the signs, fixed at assignment by right_inverse.
            signs = np.trunc(np.diagonal(x._data, axis1=-2, axis2=-1))
            q = q * wrap(signs[..., None, :])
        if "base" in self._buffers:
            q = self.base @ q
        if transposed:
            q = q.mT
        return q

    def right_inverse(self, q):
        with no_grad():
            if tuple(q.shape) != tuple(self.shape):
                raise ValueError(f"Expected a matrix or batch of matrices of shape "
                                 f"{self.shape}. Got a tensor of shape {q.shape}.")
            arr = q._data
            n, k = arr.shape[-2], arr.shape[-1]
            transpose = n < k
            if transpose:
                arr = np.swapaxes(arr, -1, -2)
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map in ("matrix_exp", "cayley"):
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False.")
                a, tau = _geqrf(arr)
                diag = np.einsum("...ii->...i", a[..., :k, :])   # a writable view
                diag[...] = np.where(tau == 0.0, -np.sign(diag), np.sign(diag))
                return wrap(np.ascontiguousarray(np.swapaxes(a, -1, -2) if transpose else a))
            if n == k:
                base = arr.copy() if _is_orthogonal(arr) else _qr_orthogonal(arr)
            else:
                extra = _rng(None).standard_normal(arr.shape[:-2] + (n, n - k))
                base = _qr_orthogonal(np.concatenate([arr, extra.astype(arr.dtype)], axis=-1))
            self.base = wrap(base.astype(arr.dtype))
            neg_eye = np.zeros(q._data.shape, q._data.dtype)
            np.einsum("...ii->...i", neg_eye[..., :min(n, k), :min(n, k)])[...] = -1.0
            return wrap(neg_eye)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` to be orthogonal: orthonormal columns (or rows, when the
    matrix is wide), for a matrix or a batch of matrices (the last two dims).

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; default
            ``"matrix_exp"`` for square matrices, ``"householder"`` otherwise.
        use_trivialization: keep an orthogonal ``base`` buffer (set when the weight is
            assigned) that the map's result multiplies; the original then starts at the map's
            identity point, which optimizes better.

    Returns:
        ``module``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.parametrizations import orthogonal
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.randn(5, 3, dtype=tg.float64))
        >>> m = orthogonal(m)
        >>> w = m.weight; bool(tg.allclose(w.T @ w, tg.eye(3, dtype=tg.float64)))
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
