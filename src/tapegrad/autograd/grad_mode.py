"""Grad modes: context managers that are also decorators. All state is in _core.state.STATE
(thread-local, as in PyTorch). Anomaly detection, a mode built on the same base, lives in
anomaly.py."""
import functools

from .._core.state import STATE

_CO_GENERATOR = 0x20      # inspect.CO_GENERATOR, without importing inspect (import time)


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
        if func.__code__.co_flags & _CO_GENERATOR:
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return func(*args, **kwargs)
        return wrapper

    def _wrap_generator(self, func):
        """A generator runs in the mode each time it resumes, not only when it is created."""
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
                with self._fresh():
                    item = next(gen)
                while True:
                    try:
                        sent = yield item
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as exc:   # forwarded into the generator (throw())
                        with self._fresh():
                            item = gen.throw(exc)
                    else:
                        with self._fresh():
                            item = gen.send(sent)
            except StopIteration as stop:
                return stop.value
        return wrapper


class _NoParamMode(_Mode):
    """A mode without arguments, which may also decorate without parentheses (``@no_grad``)."""

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)


class no_grad(_NoParamMode):
    """Turn off recording: inside, ops give results that do not require grad.

    A context manager, or a decorator (``@no_grad`` or ``@no_grad()``). The previous mode
    is restored on exit. The mode is per thread, as in PyTorch.

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
    """Turn recording back on, e.g. inside a :class:`no_grad` region.

    A context manager, or a decorator (``@enable_grad`` or ``@enable_grad()``).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.ones(2, requires_grad=True)
        >>> with tg.no_grad(), tg.enable_grad():
        ...     y = x * 2
        >>> y.requires_grad
        True
    """

    def _enter(self):
        self.prev, STATE.grad_enabled = STATE.grad_enabled, True

    def _exit(self):
        STATE.grad_enabled = self.prev


class set_grad_enabled(_Mode):
    """Turn recording on or off according to ``mode``.

    As in PyTorch, calling ``set_grad_enabled(mode)`` sets the mode at once; used in a
    ``with`` block (or as a decorator), the previous mode comes back on exit.

    Args:
        mode: True to record, False not to.

    Example:
        >>> import tapegrad as tg
        >>> with tg.set_grad_enabled(False):
        ...     print(tg.is_grad_enabled())
        False
    """

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
    """A context manager (or decorator) for inference: in tapegrad, the same as :class:`no_grad`.

    PyTorch's inference mode also skips per-tensor bookkeeping and marks its results as
    inference tensors; tapegrad has no such bookkeeping, so only the grad mode changes
    (plus :func:`is_inference_mode_enabled`). ``inference_mode(False)`` turns grad mode back
    on and inference mode off inside, as in PyTorch. Also works as a bare decorator.

    Args:
        mode: True (default) to enter inference mode, False to leave it.

    Example:
        >>> import tapegrad as tg
        >>> with tg.inference_mode():
        ...     print(tg.is_inference_mode_enabled(), tg.is_grad_enabled())
        True False
    """

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):                  # bare @inference_mode: decorate in the default mode
            self.mode = True
            return self(mode)
        return self

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def _fresh(self):
        return inference_mode(self.mode)

    def _enter(self):
        self.prev = (STATE.grad_enabled, STATE.inference)
        STATE.grad_enabled, STATE.inference = not self.mode, self.mode

    def _exit(self):
        STATE.grad_enabled, STATE.inference = self.prev


def is_grad_enabled():
    """True when ops on tensors that require grad are recorded (the default).

    Example:
        >>> import tapegrad as tg
        >>> with tg.no_grad():
        ...     print(tg.is_grad_enabled())
        False
    """
    return STATE.grad_enabled


def is_inference_mode_enabled():
    """True inside an :class:`inference_mode` region.

    Example:
        >>> import tapegrad as tg
        >>> tg.is_inference_mode_enabled()
        False
    """
    return STATE.inference
