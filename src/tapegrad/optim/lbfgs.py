"""L-BFGS (Nocedal): quasi-Newton steps from a short history, with a strong-Wolfe line search.

The iteration and the line search follow the structure of Mark Schmidt's minFunc, as
PyTorch's LBFGS documents it, so both take the same steps from the same start.
"""
import math

import numpy as np

from .._core.errors import ArgumentError
from .._core.tensor import wrap
from ..autograd.grad_mode import enable_grad
from .optimizer import Optimizer, check_common


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    ``bounds`` (default: the interval between the points); their middle when the cubic has
    no minimum (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Point:
    """One trial of the line search: step t, loss f, flat gradient g and slope g.d."""
    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(evaluate, d, start, t, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find a step along ``d`` meeting the strong Wolfe conditions: first bracket an interval
    holding one, then shrink it by safeguarded cubic interpolation ("zoom").

    ``evaluate(t)`` gives (loss, flat grad) at ``x + t d``; ``start`` is the point at t = 0.
    Returns (loss, flat grad, step, number of evaluations)."""
    f0, slope0 = start.f, start.gtd
    d_norm = float(np.max(np.abs(d)))

    def trial(t):
        f, g = evaluate(t)
        return _Point(t, f, g, float(np.dot(g, d)))

    def sufficient_decrease(p):
        return p.f <= f0 + c1 * p.t * slope0

    prev, new = _Point(0, f0, start.g.copy(), slope0), trial(t)
    evals, iters, done, bracket = 1, 0, False, None
    while iters < max_ls:                       # phase 1: grow the step until bracketed
        if not sufficient_decrease(new) or (iters > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * slope0:        # strong Wolfe holds: done
            bracket, done = [new], True
            break
        if new.gtd >= 0:                        # the slope turned: a minimum lies between
            bracket = [prev, new]
            break
        t = _cubic_min(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                       bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev, new = new, trial(t)
        evals += 1
        iters += 1
    if iters == max_ls:
        bracket = [_Point(0, f0, start.g, slope0), new]
    lo, hi = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    stalled = False
    while not done and iters < max_ls:          # phase 2: zoom into the bracket
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t = _cubic_min(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        left, right = min(a.t, b.t), max(a.t, b.t)
        margin = 0.1 * (right - left)
        # keep trials off the bracket's ends: step in by the margin when the cubic lands on
        # (or twice in a row close to) an end
        if min(right - t, t - left) < margin:
            if stalled or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        new = trial(t)
        evals += 1
        iters += 1
        if not sufficient_decrease(new) or new.f >= bracket[lo].f:
            bracket[hi] = new
            lo, hi = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(new.gtd) <= -c2 * slope0:
                done = True
            elif new.gtd * (bracket[hi].t - bracket[lo].t) >= 0:
                bracket[hi] = bracket[lo]
            bracket[lo] = new
    best = bracket[lo]
    return best.f, best.g, best.t, evals


class LBFGS(Optimizer):
    """L-BFGS: quasi-Newton steps from the last ``history_size`` curvature pairs.

    ``step(closure)`` runs up to ``max_iter`` iterations, each calling ``closure`` (which
    must zero the grads, compute the loss, call backward and return the loss) once, or
    several times with ``line_search_fn='strong_wolfe'``. One parameter group only.

    Args:
        params: the parameters to optimize (a single group).
        lr (float): learning rate: the first trial step of each iteration (default 1).
        max_iter (int): iterations per ``step`` (default 20).
        max_eval (int): closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad (float): stop when the largest grad magnitude is below it (1e-7).
        tolerance_change (float): stop when the loss or the step changes less (1e-9).
        history_size (int): curvature pairs kept (default 100).
        line_search_fn (str): None (fixed steps of lr) or ``'strong_wolfe'``.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([3.0, -2.0]))
        >>> opt = tg.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = ((w - 1.0) ** 2).sum(); loss.backward(); return loss
        >>> opt.step(closure).item(), [round(v, 4) for v in w.tolist()]
        (13.0, [1.0, 1.0])
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_common("LBFGS", lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise ArgumentError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                                f"{line_search_fn!r}")
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ArgumentError("LBFGS doesn't support per-parameter options (parameter groups); "
                                "pass one list of parameters")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ArgumentError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ---- flat views of the parameters ------------------------------------------------------
    def _flat_grad(self):
        parts = []
        for p in self._params:
            g = p._grad
            if g is not None and g._data.dtype.kind == "c":
                list(self._with_grads(self.param_groups[0]))   # raises the complex-grad error
            parts.append(np.zeros(p._data.size, p._data.dtype) if g is None
                         else g._data.reshape(-1))
        return np.concatenate(parts)

    def _add_step(self, t, d):
        """p += t * d, d being flat over all parameters."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (t * d[offset:offset + n]).reshape(p._data.shape).astype(
                p._data.dtype, copy=False)
            p._bump()
            offset += n

    def _set_params(self, arrays):
        for p, a in zip(self._params, arrays):
            np.copyto(p._data, a)
            p._bump()

    def _evaluate(self, closure):
        with enable_grad():
            loss = closure()
        return loss

    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the closure's first loss.

        Args:
            closure (callable): re-evaluates the model: zero the grads, compute the loss,
                backward, return the loss. Required.

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.tensor([0.0])); opt = tg.optim.LBFGS([w])
            >>> def closure():
            ...     opt.zero_grad(); loss = ((w - 2.0) ** 2).sum(); loss.backward(); return loss
            >>> _ = opt.step(closure); round(w.item(), 4)
            2.0
        """
        if closure is None:
            raise ArgumentError("LBFGS.step needs a closure that zeroes the grads, computes the "
                                "loss, calls backward and returns the loss")
        self._opt_called = True
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first_loss = self._evaluate(closure)
        loss = float(first_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.max(np.abs(g)) <= tol_grad:        # already optimal
            return first_loss

        unwrap = (lambda v: None if v is None else v._data)
        d, t = unwrap(state.get("d")), state.get("t")
        old_dirs = [y._data for y in state.get("old_dirs", [])]
        old_stps = [s._data for s in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag")
        prev_g, prev_loss = unwrap(state.get("prev_flat_grad")), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:             # the very first iteration: steepest descent
                d = -g
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(np.dot(y, s))
                if ys > 1e-10:                   # keep the pair only if curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(np.dot(y, y))
                d = self._two_loop(g, old_dirs, old_stps, ro, h_diag)
            prev_g = g.copy()
            prev_loss = loss
            t = (min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr if state["n_iter"] == 1
                 else lr)
            gtd = float(np.dot(g, d))
            if gtd > -tol_change:                # not a descent direction any more
                break

            if line_search is not None:
                x0 = [p._data.copy() for p in self._params]

                def evaluate(step):
                    self._add_step(step, d)
                    f = float(self._evaluate(closure))
                    grad = self._flat_grad()
                    self._set_params(x0)
                    return f, grad
                loss, g, t, ls_evals = _strong_wolfe(evaluate, d, _Point(0, loss, g, gtd), t)
                self._add_step(t, d)
            else:
                self._add_step(t, d)
                ls_evals = 0
                if n_iter != max_iter:           # the last iteration's loss is never needed
                    loss = float(self._evaluate(closure))
                    g = self._flat_grad()
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval:
                break
            if np.max(np.abs(g)) <= tol_grad:
                break
            if np.max(np.abs(d * t)) <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=wrap(d), t=t, old_dirs=[wrap(y) for y in old_dirs],
                     old_stps=[wrap(s) for s in old_stps], ro=ro, H_diag=h_diag,
                     prev_flat_grad=wrap(prev_g), prev_loss=prev_loss)
        return first_loss

    @staticmethod
    def _two_loop(g, old_dirs, old_stps, ro, h_diag):
        """-H g by the two-loop recursion over the stored pairs (H: the inverse Hessian
        estimate that starts from h_diag * I)."""
        q = -g
        alphas = [0.0] * len(old_dirs)
        for i in range(len(old_dirs) - 1, -1, -1):
            alphas[i] = float(np.dot(old_stps[i], q)) * ro[i]
            q -= alphas[i] * old_dirs[i]
        r = q * h_diag
        for i in range(len(old_dirs)):
            beta = float(np.dot(old_dirs[i], r)) * ro[i]
            r += (alphas[i] - beta) * old_stps[i]
        return r
