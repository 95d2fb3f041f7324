"""The one thread-local mode object. Nothing else in tapegrad is global mutable state."""
import threading


class _State(threading.local):
    grad_enabled = True      # record nodes for ops on tensors that require grad
    inference = False        # inside inference_mode: like no_grad, and results are marked
    track_sites = True       # nodes remember the user's file:line (see Note [Creation sites])
    anomaly = False          # detect_anomaly: also check every cotangent for nan


STATE = _State()
