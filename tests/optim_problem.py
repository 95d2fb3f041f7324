"""The fixed problem the optimizer tests share, and hand-written NumPy versions of each
optimizer's published rule (written from the papers/PyTorch docs' pseudo-code, independently
of tapegrad.optim: plain expressions, fresh arrays each step).

Loss: sum(0.5 * a * (p - c)^2 + 0.1 * (1 - cos p)) over two parameters, shapes (3, 4) and
(5,); its gradient a * (p - c) + 0.1 * sin p is written out for the NumPy rules.
"""
import math

import numpy as np

import tapegrad as tg

SHAPES = ((3, 4), (5,))
STEPS = 20


def problem(seed=0):
    """(start values, curvatures a, centres c): float32 arrays, one per parameter."""
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    a = [rng.uniform(0.5, 2.0, s).astype(np.float32) for s in SHAPES]
    c = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    return start, a, c


def np_grad(p, a, c):
    return (a * (p - c) + np.float32(0.1) * np.sin(p)).astype(np.float32)


def tg_loss(params, a, c):
    total = 0
    for p, ai, ci in zip(params, a, c):
        total = total + (0.5 * tg.tensor(ai) * (p - tg.tensor(ci)) ** 2
                         + 0.1 * (1 - tg.cos(p))).sum()
    return total


def run_tapegrad(cls, steps=STEPS, seed=0, groups=None, **opts):
    """Trajectory (list over steps of lists of arrays) of tapegrad's optimizer."""
    start, a, c = problem(seed)
    params = [tg.nn.Parameter(tg.tensor(s.copy())) for s in start]
    opt = cls(params if groups is None else groups(params), **opts)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        tg_loss(params, a, c).backward()
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


def run_numpy(rule, steps=STEPS, seed=0, **opts):
    start, a, c = problem(seed)
    params = [s.copy() for s in start]
    states = [{} for _ in params]
    out = []
    for _ in range(steps):
        grads = [np_grad(p, ai, ci) for p, ai, ci in zip(params, a, c)]
        params = [rule(p, g, st, **opts).astype(np.float32) for p, g, st in
                  zip(params, grads, states)]
        out.append([p.copy() for p in params])
    return out


f32 = np.float32


# ---- the rules: p, g, state -> new p ---------------------------------------------------------
def _weight_decay(p, g, lr, weight_decay, decoupled):
    """(p, g) after weight decay: on the parameter (AdamW's way) or added to the grad."""
    if decoupled:
        return p * f32(1 - lr * weight_decay), g
    return p, g + f32(weight_decay) * p


def _moments(st, g, b1, b2):
    """Adam's running averages of g and g^2, kept in st["m"] and st["v"]."""
    m = st["m"] = f32(b1) * st.get("m", 0) + f32(1 - b1) * g
    v = st["v"] = f32(b2) * st.get("v", 0) + f32(1 - b2) * g * g
    return m, v


def sgd(p, g, st, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
        maximize=False):
    g = -g if maximize else g
    g = g + f32(weight_decay) * p
    if momentum:
        b = g if "b" not in st else f32(momentum) * st["b"] + f32(1 - dampening) * g
        st["b"] = b
        g = g + f32(momentum) * b if nesterov else b
    return p - f32(lr) * g


def adam(p, g, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
         maximize=False, decoupled_weight_decay=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    p, g = _weight_decay(p, g, lr, weight_decay, decoupled_weight_decay)
    m, v = _moments(st, g, b1, b2)
    if amsgrad:
        v = st["vmax"] = np.maximum(st.get("vmax", 0), v)
    m_hat = m / f32(1 - b1 ** t)
    v_hat = v / f32(1 - b2 ** t)
    return p - f32(lr) * m_hat / (np.sqrt(v_hat) + f32(eps))


def adamw(p, g, st, weight_decay=1e-2, **kw):
    return adam(p, g, st, weight_decay=weight_decay, decoupled_weight_decay=True, **kw)


def rmsprop(p, g, st, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
            centered=False, maximize=False):
    g = -g if maximize else g
    g = g + f32(weight_decay) * p
    v = st["v"] = f32(alpha) * st.get("v", 0) + f32(1 - alpha) * g * g
    if centered:
        ga = st["ga"] = f32(alpha) * st.get("ga", 0) + f32(1 - alpha) * g
        v = v - ga * ga
    upd = g / (np.sqrt(v) + f32(eps))
    if momentum > 0:
        upd = st["b"] = f32(momentum) * st.get("b", 0) + upd
    return p - f32(lr) * upd


def adagrad(p, g, st, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
            eps=1e-10, maximize=False):
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    g = g + f32(weight_decay) * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = st["s"] = st.get("s", f32(initial_accumulator_value)) + g * g
    return p - f32(clr) * g / (np.sqrt(s) + f32(eps))


def adadelta(p, g, st, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    g = -g if maximize else g
    g = g + f32(weight_decay) * p
    v = st["v"] = f32(rho) * st.get("v", 0) + f32(1 - rho) * g * g
    dx = np.sqrt(st.get("u", 0) + f32(eps)) / np.sqrt(v + f32(eps)) * g
    st["u"] = f32(rho) * st.get("u", 0) + f32(1 - rho) * dx * dx
    return p - f32(lr) * dx


def adamax(p, g, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    g = g + f32(weight_decay) * p
    m = st["m"] = f32(b1) * st.get("m", 0) + f32(1 - b1) * g
    u = st["u"] = np.maximum(f32(b2) * st.get("u", 0), np.abs(g) + f32(eps))
    return p - f32(lr / (1 - b1 ** t)) * m / u


def nadam(p, g, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
          momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    p, g = _weight_decay(p, g, lr, weight_decay, decoupled_weight_decay)
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    prod = st["prod"] = float(f32(st.get("prod", 1.0) * mu))   # a float32 product, as PyTorch
    m, v = _moments(st, g, b1, b2)
    denom = np.sqrt(v / f32(1 - b2 ** t)) + f32(eps)
    return (p - f32(lr * (1 - mu) / (1 - prod)) * g / denom
            - f32(lr * mu1 / (1 - prod * mu1)) * m / denom)


def radam(p, g, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
          decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    p, g = _weight_decay(p, g, lr, weight_decay, decoupled_weight_decay)
    m, v = _moments(st, g, b1, b2)
    m_hat = m / f32(1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    if rho <= 5:
        return p - f32(lr) * m_hat
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    adaptive = f32(math.sqrt(1 - b2 ** t)) / (np.sqrt(v) + f32(eps))
    return p - f32(lr * r) * m_hat * adaptive


def asgd(p, g, st, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, maximize=False):
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    eta, mu = st.get("eta", float(f32(lr))), st.get("mu", 1.0)
    g = g + f32(weight_decay) * p
    p = p * f32(1 - lambd * eta) - f32(eta) * g
    st["ax"] = p.copy() if mu == 1 else st["ax"] + f32(mu) * (p - st["ax"])
    st["eta"] = float(f32(lr / (1 + lambd * lr * t) ** alpha))
    st["mu"] = float(f32(1 / max(1, t - t0)))
    return p


def rprop(p, g, st, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    g = -g if maximize else g
    prev = st.get("prev", np.zeros_like(p))
    size = st.get("size", np.full_like(p, lr))
    same = g * prev
    size = np.where(same > 0, size * f32(etas[1]), np.where(same < 0, size * f32(etas[0]),
                                                            size))
    size = np.clip(size, f32(step_sizes[0]), f32(step_sizes[1])).astype(np.float32)
    g = np.where(same < 0, f32(0), g)
    st["prev"], st["size"] = g, size
    return p - np.sign(g) * size


RULES = {"SGD": sgd, "Adam": adam, "AdamW": adamw, "RMSprop": rmsprop, "Adagrad": adagrad,
         "Adadelta": adadelta, "Adamax": adamax, "NAdam": nadam, "RAdam": radam, "ASGD": asgd,
         "Rprop": rprop}

# option sets exercised for each optimizer (the first: defaults, with a visible lr)
CASES = {
    "SGD": [dict(lr=0.05), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9,
            dampening=0.3, weight_decay=0.1), dict(lr=0.05, momentum=0.8, nesterov=True),
            dict(lr=0.01, maximize=True, weight_decay=0.2)],
    "Adam": [dict(lr=0.05), dict(lr=0.05, amsgrad=True), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.01, maximize=True), dict(lr=0.05, weight_decay=0.1,
                                                 decoupled_weight_decay=True, betas=(0.8, 0.9))],
    "AdamW": [dict(lr=0.05), dict(lr=0.05, amsgrad=True, maximize=True, weight_decay=0.3)],
    "RMSprop": [dict(lr=0.01), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9),
                dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9),
                dict(lr=0.01, maximize=True)],
    "Adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05), dict(lr=0.1,
                initial_accumulator_value=0.5, weight_decay=0.1), dict(lr=0.1, maximize=True)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.8, weight_decay=0.1), dict(maximize=True)],
    "Adamax": [dict(lr=0.05), dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.99)),
               dict(lr=0.05, maximize=True)],
    "NAdam": [dict(lr=0.05), dict(lr=0.05, weight_decay=0.1), dict(lr=0.05, weight_decay=0.1,
              decoupled_weight_decay=True), dict(lr=0.05, momentum_decay=0.1, maximize=True)],
    "RAdam": [dict(lr=0.05), dict(lr=0.05, betas=(0.9, 0.9)), dict(lr=0.05, weight_decay=0.1,
              betas=(0.9, 0.9)), dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True,
              betas=(0.9, 0.9), maximize=True)],
    "ASGD": [dict(lr=0.05), dict(lr=0.05, t0=5, lambd=0.01), dict(lr=0.05, t0=3,
             weight_decay=0.1, alpha=0.5), dict(lr=0.05, maximize=True)],
    "Rprop": [dict(lr=0.05), dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)),
              dict(lr=0.05, maximize=True)],
}


def case_ids():
    return [(name, i) for name, cases in CASES.items() for i in range(len(cases))]


def run_torch(name, steps=STEPS, seed=0, **opts):
    """The same run with torch.optim (optional yardstick; the caller imports torch)."""
    import torch
    start, a, c = problem(seed)
    params = [torch.tensor(s.copy(), requires_grad=True) for s in start]
    opt = getattr(torch.optim, name)(params, foreach=False, **opts) if name != "LBFGS" \
        else torch.optim.LBFGS(params, **opts)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum((0.5 * torch.tensor(ai) * (p - torch.tensor(ci)) ** 2
                    + 0.1 * (1 - torch.cos(p))).sum() for p, ai, ci in zip(params, a, c))
        loss.backward()
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out
