"""Floor 3: the engine and PyTorch's ``torch.autograd`` API."""
from . import forward_ad, functional, graph  # noqa: F401  (graph: saved-tensor hooks)
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import (detect_anomaly, enable_grad, inference_mode, is_anomaly_enabled,
                        is_grad_enabled, no_grad, set_detect_anomaly, set_grad_enabled)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .mutation_guard import get_mutation_guard, mutation_guard, set_mutation_guard
from .tape import GradientTape

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "gradcheck", "gradgradcheck", "GradcheckError", "forward_ad", "Function",
           "FunctionCtx", "GradientTape", "set_mutation_guard", "get_mutation_guard",
           "mutation_guard"]
