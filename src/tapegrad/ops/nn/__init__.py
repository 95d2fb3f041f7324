"""The primitives behind tapegrad.nn.functional, one family per file: activation (softmax,
log_softmax, ...), linear, loss (the fused cross-entropy, ctc), conv (convolution and its
transpose), pooling, normalization, attention, resample (interpolation, grid sampling),
embedding, recurrent (whole RNN/LSTM/GRU layers).
Each part lists in ``__all__`` what PyTorch also has at top level (``torch.softmax``) and in
``METHODS`` what it binds onto Tensor; ``tapegrad.nn.functional`` imports the rest directly.
"""
from . import (activation, attention, conv, embedding, linear, loss, normalization, pooling,
               recurrent, resample)

PARTS = (activation, linear, loss, conv, pooling, normalization, attention, resample, embedding,
         recurrent)
__all__ = [name for part in PARTS for name in part.__all__]
METHODS = {name: fn for part in PARTS for name, fn in part.METHODS.items()}
globals().update({name: getattr(part, name) for part in PARTS for name in part.__all__})
