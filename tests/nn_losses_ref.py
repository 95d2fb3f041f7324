"""Plain NumPy references for tapegrad.nn.functional's losses and linear layers (used by
tests/opinfo_nn_losses.py and tests/test_nn_losses.py). Written from the definitions,
independently of the implementation: loops over samples, float64 throughout, the result cast
to the input's dtype at the end."""
import numpy as np


def _reduce(loss, reduction, dtype):
    loss = np.asarray(loss, dtype=np.float64)
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return np.asarray(loss).astype(dtype)


def _f(a):
    return np.asarray(a, dtype=np.float64)


def mse(x, t, reduction="mean"):
    return _reduce((_f(x) - _f(t)) ** 2, reduction, x.dtype)


def l1(x, t, reduction="mean"):
    return _reduce(np.abs(_f(x) - _f(t)), reduction, x.dtype)


def smooth_l1(x, t, reduction="mean", beta=1.0):
    d = np.abs(_f(x) - _f(t))
    loss = [v * v * 0.5 / beta if v < beta else v - 0.5 * beta for v in d.ravel()]
    return _reduce(np.reshape(loss, d.shape), reduction, x.dtype)


def huber(x, t, reduction="mean", delta=1.0):
    d = np.abs(_f(x) - _f(t))
    loss = [0.5 * v * v if v < delta else delta * (v - 0.5 * delta) for v in d.ravel()]
    return _reduce(np.reshape(loss, d.shape), reduction, x.dtype)


def _log_softmax(v):
    v = _f(v)
    m = v.max()
    return v - m - np.log(np.sum(np.exp(v - m)))


def _samples(x):
    """(class dim, list of (index, logits vector)) over every position but the class dim."""
    axis = 0 if x.ndim == 1 else 1
    moved = np.moveaxis(x, axis, -1)
    return axis, [(idx, moved[idx]) for idx in np.ndindex(moved.shape[:-1])]


def cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    axis, rows = _samples(x)
    n_classes = x.shape[axis]
    w = np.ones(n_classes) if weight is None else _f(weight)
    eps = label_smoothing
    if t.dtype.kind == "f":                       # class probabilities
        tm = np.moveaxis(_f(t), axis, -1)
        out = np.zeros(tm.shape[:-1])
        for idx, v in rows:
            p = tm[idx] * (1 - eps) + eps / n_classes
            out[idx] = -np.sum(w * p * _log_softmax(v))
        return _reduce(out, reduction, x.dtype)
    out, denom = np.zeros(t.shape), 0.0
    for idx, v in rows:
        c = int(t[idx])
        if c == ignore_index:
            continue
        lp = _log_softmax(v)
        out[idx] = (1 - eps) * -w[c] * lp[c] + eps / n_classes * -np.sum(w * lp)
        denom += w[c]
    if reduction == "mean":
        return np.asarray(out.sum() / denom).astype(x.dtype)
    return _reduce(out, reduction, x.dtype)


def nll(x, t, weight=None, ignore_index=-100, reduction="mean"):
    axis, rows = _samples(x)
    w = np.ones(x.shape[axis]) if weight is None else _f(weight)
    out, denom = np.zeros(t.shape), 0.0
    for idx, v in rows:
        c = int(t[idx])
        if c != ignore_index:
            out[idx] = -w[c] * v[c]
            denom += w[c]
    if reduction == "mean":
        return np.asarray(out.sum() / denom).astype(x.dtype)
    return _reduce(out, reduction, x.dtype)


def bce(x, t, weight=None, reduction="mean"):
    xf, tf = _f(x), _f(t)
    loss = -(tf * np.maximum(np.log(xf), -100) + (1 - tf) * np.maximum(np.log(1 - xf), -100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, x.dtype)


def bce_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    xf, tf = _f(x), _f(t)
    pw = 1.0 if pos_weight is None else _f(pos_weight)
    log_sig = -np.logaddexp(0, -xf)             # log sigmoid(x)
    log_one_minus = -np.logaddexp(0, xf)        # log(1 - sigmoid(x))
    loss = -(pw * tf * log_sig + (1 - tf) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, x.dtype)


def kl_div(x, t, reduction="mean", log_target=False):
    xf, tf = _f(x), _f(t)
    if log_target:
        loss = np.exp(tf) * (tf - xf)
    else:
        loss = np.where(tf > 0, tf * (np.log(np.where(tf > 0, tf, 1)) - xf), 0.0)
    if reduction == "batchmean":
        return np.asarray(loss.sum() / x.shape[0]).astype(x.dtype)
    return _reduce(loss, reduction, x.dtype)


def margin_ranking(a, b, y, margin=0.0, reduction="mean"):
    return _reduce(np.maximum(0, -_f(y) * (_f(a) - _f(b)) + margin), reduction, a.dtype)


def hinge_embedding(x, y, margin=1.0, reduction="mean"):
    xf = _f(x)
    loss = np.where(y == 1, xf, np.maximum(0, margin - xf))
    return _reduce(loss, reduction, x.dtype)


def soft_margin(x, y, reduction="mean"):
    return _reduce(np.log1p(np.exp(-_f(y) * _f(x))), reduction, x.dtype)


def multilabel_soft_margin(x, y, weight=None, reduction="mean"):
    xf, yf = _f(x), _f(y)
    sig = 1 / (1 + np.exp(-xf))
    loss = -(yf * np.log(sig) + (1 - yf) * np.log(1 - sig))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.mean(-1), reduction, x.dtype)


def multi_margin(x, y, p=1, margin=1.0, weight=None, reduction="mean"):
    x2 = _f(x).reshape(-1, x.shape[-1])
    y2 = np.reshape(y, -1)
    out = np.zeros(len(y2))
    for i, c in enumerate(y2):
        for j in range(x2.shape[1]):
            if j != c:
                v = max(0.0, margin - x2[i, c] + x2[i, j]) ** p
                out[i] += v * (1.0 if weight is None else weight[c])
    out /= x.shape[-1]
    return _reduce(out.reshape(np.shape(y)), reduction, x.dtype)


def cosine_embedding(a, b, y, margin=0.0, reduction="mean"):
    af, bf = _f(a), _f(b)
    cos = np.sum(af * bf, -1) / np.sqrt((np.sum(af * af, -1) + 1e-12)
                                        * (np.sum(bf * bf, -1) + 1e-12))
    loss = np.where(y == 1, 1 - cos, np.maximum(0, cos - margin))
    return _reduce(loss, reduction, a.dtype)


def _dist(a, b, p, eps):
    return np.sum(np.abs(a - b + eps) ** p, -1) ** (1 / p)


def triplet(a, pos, neg, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean"):
    af, pf, nf = _f(a), _f(pos), _f(neg)
    dp, dn = _dist(af, pf, p, eps), _dist(af, nf, p, eps)
    if swap:
        dn = np.minimum(dn, _dist(pf, nf, p, eps))
    return _reduce(np.maximum(0, margin + dp - dn), reduction, a.dtype)


def poisson_nll(x, t, log_input=True, full=False, eps=1e-8, reduction="mean"):
    xf, tf = _f(x), _f(t)
    loss = np.exp(xf) - tf * xf if log_input else xf - tf * np.log(xf + eps)
    if full:
        for idx in np.ndindex(loss.shape):
            v = tf[idx]
            if v > 1:
                loss[idx] += v * np.log(v) - v + 0.5 * np.log(2 * np.pi * v)
    return _reduce(loss, reduction, x.dtype)


def gaussian_nll(x, t, var, full=False, eps=1e-6, reduction="mean"):
    xf, tf, vf = _f(x), _f(t), _f(var)
    if vf.shape != xf.shape and vf.shape == xf.shape[:-1]:
        vf = vf[..., None]
    vf = np.maximum(vf, eps)
    loss = 0.5 * (np.log(vf) + (xf - tf) ** 2 / vf)
    if full:
        loss = loss + 0.5 * np.log(2 * np.pi)
    return _reduce(loss, reduction, x.dtype)


def ctc_one(lp, target):
    """-log p(target | lp) for one (T, C) log-probability sequence, blank 0, by the forward
    recursion in probability space over the extended target."""
    probs = np.exp(_f(lp))
    ext = [0]
    for c in target:
        ext += [int(c), 0]
    n_steps, n_pos = probs.shape[0], len(ext)
    a = np.zeros((n_steps, n_pos))
    a[0, 0] = probs[0, ext[0]]
    if n_pos > 1:
        a[0, 1] = probs[0, ext[1]]
    for t in range(1, n_steps):
        for s in range(n_pos):
            total = a[t - 1, s] + (a[t - 1, s - 1] if s >= 1 else 0.0)
            if s >= 2 and ext[s] != 0 and ext[s] != ext[s - 2]:
                total += a[t - 1, s - 2]
            a[t, s] = total * probs[t, ext[s]]
    p = a[-1, -1] + (a[-1, -2] if n_pos > 1 else 0.0)
    return -np.log(p)


def ctc(lp, targets, input_lengths, target_lengths, reduction="mean"):
    """Batched (T, N, C) log_probs and padded targets (N, S)."""
    out = np.array([ctc_one(lp[:input_lengths[n], n], targets[n][:target_lengths[n]])
                    for n in range(lp.shape[1])])
    if reduction == "mean":
        return np.asarray(np.mean(out / np.maximum(target_lengths, 1))).astype(lp.dtype)
    return _reduce(out, reduction, lp.dtype)


def linear(x, w, b=None):
    if w.ndim == 1:
        return (np.einsum("...i,i->...", _f(x), _f(w)) + (0 if b is None else b)).astype(x.dtype)
    out = np.einsum("...i,oi->...o", _f(x), _f(w))
    return (out if b is None else out + b).astype(x.dtype)


def bilinear(x1, x2, w, b=None):
    out = np.einsum("...i,kij,...j->...k", _f(x1), _f(w), _f(x2))
    return (out if b is None else out + b).astype(x1.dtype)
