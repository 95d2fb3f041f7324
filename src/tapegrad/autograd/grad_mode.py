"""Grad modes: context managers that are also decorators. All state is in _core.state.STATE
(thread-local, as in PyTorch)."""
import functools

from .._core.state import STATE


class _Mode:
    """Base: ``with mode():`` or ``@mode()``; as a decorator, each call gets a fresh
    instance, so decorated functions are reentrant."""

    def _enter(self):
        raise NotImplementedError

    def _exit(self):
        raise NotImplementedError

    def __enter__(self):
        self._enter()
        return self

    def __exit__(self, *exc):
        self._exit()
        return False

    def _fresh(self):
        return type(self)()

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return func(*args, **kwargs)
        return wrapper


class _NoParamMode(_Mode):
    """A mode without arguments, which may also decorate without parentheses (``@no_grad``)."""

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)


class no_grad(_NoParamMode):
    """Ops inside record nothing: results don't require grad.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.ones(2, requires_grad=True)
        >>> with tg.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def _enter(self):
        self.prev, STATE.grad_enabled = STATE.grad_enabled, False

    def _exit(self):
        STATE.grad_enabled = self.prev     # restore; never force True


class enable_grad(_NoParamMode):
    """Turn recording back on inside a no_grad region."""

    def _enter(self):
        self.prev, STATE.grad_enabled = STATE.grad_enabled, True

    def _exit(self):
        STATE.grad_enabled = self.prev


class set_grad_enabled(_Mode):
    """Set grad mode to ``mode``: at once when called, restored on leaving a ``with`` block."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode     # as in PyTorch, calling it sets the mode

    def _fresh(self):
        return set_grad_enabled(self.mode)

    def __call__(self, func):
        STATE.grad_enabled = self.prev     # used as a decorator: undo the eager set
        return super().__call__(func)

    def _enter(self):
        STATE.grad_enabled = self.mode

    def _exit(self):
        STATE.grad_enabled = self.prev


class inference_mode(_Mode):
    """Like no_grad (tapegrad keeps no extra per-tensor bookkeeping, so it is equally fast);
    ``inference_mode(False)`` does nothing."""

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def _fresh(self):
        return inference_mode(self.mode)

    def _enter(self):
        self.prev = (STATE.grad_enabled, STATE.inference)
        if self.mode:
            STATE.grad_enabled, STATE.inference = False, True

    def _exit(self):
        STATE.grad_enabled, STATE.inference = self.prev


def is_grad_enabled():
    """True when ops on tensors that require grad are recorded."""
    return STATE.grad_enabled


def is_inference_mode_enabled():
    return STATE.inference


class detect_anomaly(_Mode):
    """Inside, backward checks every gradient for nan and names the op (and the line of your
    code that created it) that produced one."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def _fresh(self):
        return detect_anomaly(self.check_nan)

    def _enter(self):
        self.prev, STATE.anomaly = STATE.anomaly, bool(self.check_nan)

    def _exit(self):
        STATE.anomaly = self.prev


def set_detect_anomaly(mode):
    """Turn anomaly detection on or off for this thread."""
    STATE.anomaly = bool(mode)


def is_anomaly_enabled():
    return STATE.anomaly
