"""tapegrad.nn.functional: conv."""

__all__ = []
