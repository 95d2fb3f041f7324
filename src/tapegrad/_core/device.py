"""Devices. tapegrad computes on the CPU only; ``device`` exists so that code written for
PyTorch (``x.device.type``, ``tensor(..., device=x.device)``) keeps working."""


class device:
    """A compute device; only ``"cpu"`` exists.

    Example:
        >>> import tapegrad as tg
        >>> tg.zeros(1).device, tg.zeros(1).device.type, tg.device("cpu") == tg.zeros(1).device
        (device(type='cpu'), 'cpu', True)
    """
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name, _, idx = str(type).partition(":")
        if name != "cpu":
            raise RuntimeError(f"device: tapegrad runs on the CPU only; {str(type)!r} is not "
                               "available")
        self.type = name
        self.index = int(idx) if idx else index

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type={self.type!r})" if self.index is None else \
            f"device(type={self.type!r}, index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")
