"""Floor 4: JAX-style function transforms with torch.func's API (``tapegrad.func``).

Each transform is a thin layer over the one engine: reverse mode through ``autograd.grad``,
forward mode through ``autograd.forward_ad``, batching through ``vmap``'s batching rules.
"""
from .functional_call import functional_call, stack_module_state
from .jacobians import hessian, jacfwd, jacrev
from .transforms import grad, grad_and_value, jvp, linearize, vjp
from .vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "functional_call", "stack_module_state", "vmap"]
