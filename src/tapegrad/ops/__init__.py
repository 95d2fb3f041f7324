"""Floor 2: the primitives. Importing this package fills the registry and binds the
Tensor methods; nothing is registered after import."""
from . import registry, elementwise, reduction, shape, indexing, creation  # noqa: F401
from . import (binary_math, diagonal, elementary, linalg, rearrange, rounding,  # noqa: F401
               nn, scan, scatter, sort, special, statistics)
from . import methods  # noqa: F401  (binds the ops onto Tensor; must come last)
