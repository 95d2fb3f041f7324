"""The one thread-local mode object: every mode (grad, inference, anomaly, creation sites)
lives here. The only other module-level mutable values are a default random generator
(as PyTorch's) and a lookup cache in node.capture_site; neither is a mode."""
import threading


class _State(threading.local):
    grad_enabled = True      # record nodes for ops on tensors that require grad
    inference = False        # inside inference_mode (which otherwise acts like no_grad)
    track_sites = True       # nodes remember the user's file:line (see Note [Creation sites])
    site = None              # when set, the creation site of every node recorded now (ditto)
    anomaly = False          # detect_anomaly: False, or this thread's watch (autograd/anomaly.py)
    fw_levels = ()           # forward mode's active level ids, innermost last (forward_ad.py)
    # saved_tensors_hooks: the innermost (pack, unpack) pair, or None (the common case: ops
    # save arrays on their node). See Note [Saved-tensor hooks] in autograd/graph.py.
    saved_hooks = None
    saved_hooks_disabled = None   # disable_saved_tensors_hooks's error message, or None
    saving_op = None              # the op whose values are being packed (for the hooks' errors)
    transform_aliases = frozenset()   # ids of running func transforms' inputs (func/transforms.py)
    vmap_levels = ()              # running vmaps' VmapLevels, innermost last (_core/batched.py)
    partial_backward = False      # the running backward is grad() or backward(inputs=...)
    tapes = ()                    # GradientTapes recording now, innermost last (autograd/tape.py)
    leaks = None                  # leak sentinel: None on, False off, or its record (leaks.py)
    mutation_guard = None         # None ("error-at-backward"), "error-now" or "copy-on-write":
    #                               Note [Mutation guard] in autograd/mutation_guard.py


STATE = _State()
