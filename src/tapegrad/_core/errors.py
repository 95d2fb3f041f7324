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


class NotSupportedError(ArgumentError, NotImplementedError):
    """An argument combination PyTorch does not implement either (it raises
    NotImplementedError there): pad's lengths for a rank in a non-constant mode, affine_grid's
    sizes of other ranks, embedding_bag's per_sample_weights outside mode='sum'."""


class LinAlgError(RuntimeError):
    """A matrix a factorization or solve can't handle (singular, not positive-definite);
    ``tapegrad.linalg.LinAlgError``, as torch.linalg.LinAlgError.

    NOTE: a RuntimeError and not a ValueError, as PyTorch's is: registry.apply turns a
    ValueError raised by a forward into a broadcasting ShapeError when the operands' shapes
    don't broadcast (a (3, 3) matrix and a (3, 8) right-hand side don't)."""


class GradError(RuntimeError):
    """A backward pass that cannot run: nothing requires grad, freed graph, stale saved data."""
