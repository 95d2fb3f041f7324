"""tapegrad.utils: ``data`` (datasets, samplers, DataLoader) and ``checkpoint`` (gradient
checkpointing)."""
from . import checkpoint, data  # noqa: F401
