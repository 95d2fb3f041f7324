"""Error types. Each subclasses the builtins a user would catch: PyTorch raises RuntimeError
for shape and dtype mismatches, NumPy ValueError/TypeError, so code written for either keeps
working (``except RuntimeError`` or ``except ValueError`` both catch a ShapeError)."""


class ShapeError(ValueError, RuntimeError):
    """Shapes that an op cannot combine (broadcasting, contraction, reshape)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype an op or the engine cannot work with (e.g. grad on an integer tensor)."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value an op can't use (a negative size, a zero step, no clamp bounds)."""


class IndexRangeError(ArgumentError, IndexError):
    """An index outside its dim: an IndexError as in Python, and a RuntimeError as PyTorch's
    gather/scatter raise (ArgumentError is both ValueError and RuntimeError)."""


class GradError(RuntimeError):
    """A backward pass that cannot run: nothing requires grad, freed graph, stale saved data."""
