"""Normalization layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm,
LocalResponseNorm, as PyTorch's ``torch.nn`` has them.

Constructor arguments, parameter and buffer names, their registration order (hence the
``state_dict`` keys) and ``extra_repr`` text follow PyTorch's; the computation is
``tapegrad.nn.functional``'s.
"""
import numbers
import warnings

from ..._core import dtypes
from ..._core.errors import ArgumentError, ShapeError
from ...autograd.grad_mode import no_grad
from ...ops.creation import empty, ones, tensor, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import _count
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm"]


def _shape_tuple(layer, normalized_shape):
    """An int or a sequence of ints as a tuple, as PyTorch stores ``normalized_shape``; a
    negative or non-int size is refused naming the layer."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    return tuple(_count(layer, "each size of normalized_shape", n) for n in normalized_shape)


def _affine_parameters(module, shape, affine, bias, device, dtype):
    """Register ``weight`` and ``bias`` of ``shape`` (uninitialised; reset_parameters fills
    them), the bias only with ``bias``; None for both without ``affine``."""
    if affine:
        module.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            module.bias = Parameter(empty(shape, device=device, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module, affine):
    """Weight to ones and bias to zeros (the ones there are)."""
    if affine:
        init.ones_(module.weight)
        if module.bias is not None:
            init.zeros_(module.bias)


class _NormBase(Module):
    """Shared by batch and instance norm: the per-channel affine parameters, the running
    statistics buffers and their bookkeeping."""
    # Checkpoint format 2 added num_batches_tracked (see _load_from_state_dict).
    _version = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = _count(type(self).__name__, "num_features", num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        factory = {"device": device, "dtype": dtype}
        _affine_parameters(self, num_features, affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, **factory))
            self.register_buffer("running_var", ones(num_features, **factory))
            self.register_buffer("num_batches_tracked",
                                 tensor(0, dtype=dtypes.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        """Running mean 0, running variance 1 and no batch counted (when they are tracked)."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """Reset the running statistics; weight to ones and bias to zeros."""
        self.reset_running_stats()
        _reset_affine(self, self.affine)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _wrong_rank(self, input, expected):
        # PyTorch's text first (scripts match on it), then the shape and the remedy.
        raise ShapeError(f"expected {expected} input (got {input.ndim}D input): "
                         f"{type(self).__name__} got shape {tuple(input.shape)}; reshape the "
                         f"input to {expected} (N, C, ...) or use the matching layer.")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # A checkpoint older than format 2 has no num_batches_tracked: keep the current count
        # rather than reporting the key missing. tapegrad's own state dicts carry no format
        # number, so they are read the same way.
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if ((version is None or version < 2) and self.track_running_stats
                and key not in state_dict):
            count = self.num_batches_tracked
            if count is None:
                count = tensor(0, dtype=dtypes.int64)
            state_dict = {**state_dict, key: count}     # the caller's dict stays as it was
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class _BatchNorm(_NormBase):
    def forward(self, input):
        self._check_input_dim(input)
        channels = input.shape[1]
        if channels != self.num_features and (self.affine or self.track_running_stats):
            # PyTorch's text first, then which layer and what it was built for.
            raise ShapeError(
                f"running_mean should contain {channels} elements not {self.num_features}: "
                f"{type(self).__name__} was built with num_features={self.num_features} but "
                f"got input of shape {tuple(input.shape)} ({channels} channels at dim 1).")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                # cumulative moving average: the k-th batch weighs 1/k
                factor = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, and in evaluation when nothing was tracked.
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        # In training the buffers are passed only when tracked (so they are updated).
        pass_stats = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if pass_stats else None,
                            self.running_var if pass_stats else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over the batch (and length).

    Training normalizes with the batch's mean and biased variance and updates the running
    statistics: ``running = (1 - momentum) * running + momentum * batch_stat`` (the unbiased
    variance for ``running_var``); ``momentum=None`` takes the cumulative average instead.
    Evaluation normalizes with the running statistics (batch ones if they are not tracked).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance.
        momentum: the running statistics' update factor, or None for a cumulative average.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        track_running_stats: keep ``running_mean``, ``running_var`` and
            ``num_batches_tracked`` buffers.
        device, dtype: of the parameters and running statistics.
        bias: with ``affine``, learn the bias too.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.BatchNorm1d(2); m(tg.tensor([[1.0, 0.0], [3.0, 4.0]]))
        tensor([[-1.0000, -1.0000],
                [ 1.0000,  1.0000]], grad_fn=<AddBackward0>)
        >>> m.running_mean, m.num_batches_tracked
        (tensor([0.2000, 0.2000]), tensor(1))
    """

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3):
            self._wrong_rank(input, "2D or 3D")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs over the batch and spatial dims.

    Args:
        num_features, eps, momentum, affine, track_running_stats, device, dtype, bias: as in
            :class:`BatchNorm1d`.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.BatchNorm2d(3); m(tg.randn(2, 3, 4, 4)).shape
        tapegrad.Size([2, 3, 4, 4])
        >>> list(m.state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    def _check_input_dim(self, input):
        if input.ndim != 4:
            self._wrong_rank(input, "4D")


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) inputs over the batch and spatial dims.

    Args:
        num_features, eps, momentum, affine, track_running_stats, device, dtype, bias: as in
            :class:`BatchNorm1d`.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.BatchNorm3d(4, momentum=None, affine=False)
        BatchNorm3d(4, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)
    """

    def _check_input_dim(self, input):
        if input.ndim != 5:
            self._wrong_rank(input, "5D")


class _InstanceNorm(_NormBase):
    # the rank of an unbatched input (C, *spatial)
    _unbatched_rank = None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def _check_input_dim(self, input):
        ranks = (self._unbatched_rank, self._unbatched_rank + 1)
        if input.ndim not in ranks:
            self._wrong_rank(input, f"{ranks[0]}D or {ranks[1]}D")

    def forward(self, input):
        self._check_input_dim(input)
        channel_dim = input.ndim - self._unbatched_rank
        channels = input.shape[channel_dim]
        if channels != self.num_features:
            if self.affine:
                raise ShapeError(
                    f"expected input's size at dim={channel_dim} to match num_features "
                    f"({self.num_features}), but got: {channels}. {type(self).__name__} got "
                    f"input of shape {tuple(input.shape)}.")
            warnings.warn(f"input's size at dim={channel_dim} does not match num_features. "
                          "You can silence this warning by not passing in num_features, "
                          "which is not used because affine=False", stacklevel=2)
        unbatched = input.ndim == self._unbatched_rank
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or unbatched (C, L) inputs: each channel of each
    sample normalized over its length.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance.
        momentum: the running statistics' update factor (when tracked).
        affine: learn a per-channel ``weight`` and ``bias`` (default False).
        track_running_stats: keep running statistics and use them in evaluation (default
            False: instance statistics always).
        device, dtype: of the parameters and running statistics.
        bias: with ``affine``, learn the bias too.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.InstanceNorm1d(2, eps=0.0)(tg.tensor([[1.0, 3.0], [0.0, 4.0]]))
        tensor([[-1.,  1.],
                [-1.,  1.]])
    """
    _unbatched_rank = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or unbatched (C, H, W) inputs.

    Args:
        num_features, eps, momentum, affine, track_running_stats, device, dtype, bias: as in
            :class:`InstanceNorm1d`.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.InstanceNorm2d(3, affine=True)
        InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True,
                       track_running_stats=False)
    """
    _unbatched_rank = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or unbatched (C, D, H, W) inputs.

    Args:
        num_features, eps, momentum, affine, track_running_stats, device, dtype, bias: as in
            :class:`InstanceNorm1d`.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.InstanceNorm3d(2)(tg.randn(2, 2, 2, 2, 2)).shape
        tapegrad.Size([2, 2, 2, 2, 2])
    """
    _unbatched_rank = 4


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims, then an elementwise
    affine map.

    Args:
        normalized_shape: the trailing dims to normalize over (an int or a sequence of ints).
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of that shape.
        bias: with ``elementwise_affine``, learn the bias too.
        device, dtype: of the parameters.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.LayerNorm(3, eps=0.0); m(tg.tensor([[1.0, 2.0, 3.0]]))
        tensor([[-1.2247,  0.0000,  1.2247]], grad_fn=<AddBackward0>)
        >>> m
        LayerNorm((3,), eps=0.0, elementwise_affine=True, bias=True)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(type(self).__name__, normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        """Weight to ones and bias to zeros."""
        _reset_affine(self, self.elementwise_affine)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization: the C channels of (N, C, *) split into ``num_groups`` groups, each
    normalized per sample, then a per-channel affine map.

    Args:
        num_groups: the number of groups; it must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        device, dtype: of the parameters.
        bias: with ``affine``, learn the bias too.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.GroupNorm(2, 4, eps=0.0)(tg.tensor([[1.0, 3.0, 0.0, 4.0]]))
        tensor([[-1.,  1., -1.,  1.]], grad_fn=<AddBackward0>)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if isinstance(num_groups, numbers.Integral) and num_groups <= 0:
            raise ArgumentError(f"GroupNorm: num_groups must be a positive int, got "
                                f"{num_groups}.")
        num_channels = _count("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups != 0:
            raise ArgumentError(f"num_channels ({num_channels}) must be divisible by "
                                f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, num_channels, affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        """Weight to ones and bias to zeros."""
        _reset_affine(self, self.affine)

    def forward(self, input):
        if self.affine and input.ndim >= 2 and input.shape[1] != self.num_channels:
            raise ShapeError(
                f"Expected weight to be a vector of size equal to the number of channels in "
                f"input: GroupNorm was built with num_channels={self.num_channels} but got "
                f"input of shape {tuple(input.shape)} ({input.shape[1]} channels at dim 1).")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape`` dims, times an
    elementwise weight.

    Args:
        normalized_shape: the trailing dims to normalize over (an int or a sequence of ints).
        eps: added to the mean square; None takes the machine epsilon of the input's dtype.
        elementwise_affine: learn ``weight`` (ones) of that shape.
        device, dtype: of the weight.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.RMSNorm(2)(tg.tensor([[3.0, 4.0]]))
        tensor([[0.8485, 1.1314]], grad_fn=<MulBackward0>)
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(type(self).__name__, normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Weight to ones."""
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response normalization across channels of (N, C, *) inputs:
    ``x / (k + alpha / size * (sum of x^2 over size neighbouring channels)) ** beta``.

    Args:
        size: the number of channels in a window.
        alpha, beta, k: the formula's constants.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.LocalResponseNorm(2, alpha=2.0, beta=1.0)(tg.tensor([[[1.0], [2.0]]]))
        tensor([[[0.5000],
                 [0.3333]]])
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
