"""Linear algebra primitives, one family per file: products (matmul and its relatives),
contract (einsum, tensordot, ...), solve (inverses and solves), determinants, decomp
(decompositions), norms. ``tapegrad.linalg`` re-exports the names each part lists in ``LINALG``."""
from . import contract, decomp, determinants, norms, products, solve
from .contract import *  # noqa: F401,F403
from .decomp import *  # noqa: F401,F403
from .determinants import *  # noqa: F401,F403
from .norms import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .solve import *  # noqa: F401,F403

PARTS = (products, contract, solve, determinants, decomp, norms)
__all__ = [name for part in PARTS for name in part.__all__]
METHODS = {name: fn for part in PARTS for name, fn in part.METHODS.items()}
LINALG = {name: fn for part in PARTS for name, fn in part.LINALG.items()}
