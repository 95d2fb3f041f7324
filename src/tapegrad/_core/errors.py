"""Error types. Each subclasses the builtin a PyTorch user would catch, so
``except ValueError`` / ``except RuntimeError`` keep working."""


class ShapeError(ValueError):
    """Shapes that an op cannot combine (broadcasting, contraction, reshape)."""


class DTypeError(TypeError):
    """A dtype an op or the engine cannot work with (e.g. grad on an integer tensor)."""


class GradError(RuntimeError):
    """A backward pass that cannot run: nothing requires grad, freed graph, stale saved data."""
