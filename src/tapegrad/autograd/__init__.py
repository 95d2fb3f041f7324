"""Floor 3: the engine and PyTorch's ``torch.autograd`` API."""
from . import forward_ad, functional, graph  # noqa: F401  (graph: saved-tensor hooks)
from .engine import backward, grad
from .explain import explain
from .function import Function, FunctionCtx
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .leaks import GraphLeakWarning, is_leak_sentinel_enabled, set_leak_sentinel
from .mutation_guard import get_mutation_guard, mutation_guard, set_mutation_guard
from .tape import GradientTape

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "AnomalyError",
           "gradcheck", "gradgradcheck", "GradcheckError", "forward_ad", "Function",
           "FunctionCtx", "GradientTape", "explain", "GraphLeakWarning", "set_leak_sentinel",
           "is_leak_sentinel_enabled", "set_mutation_guard", "get_mutation_guard",
           "mutation_guard"]
