"""tapegrad quick start: the examples from the project's introduction, with their numbers.

Run: python examples/quickstart.py
"""
import tapegrad as tg


def linear_model():
    print("1. A linear model y_hat = W*x + b, loss = (y_hat - target)**2")
    x = tg.tensor(2.0)
    W = tg.tensor(3.0, requires_grad=True)
    b = tg.tensor(1.0, requires_grad=True)
    y_hat = W * x + b
    loss = (y_hat - 7.0) ** 2
    loss.backward()
    print(f"   target 7: y_hat = {y_hat.item():g}, loss = {loss.item():g}, "
          f"W.grad = {W.grad.item():g}, b.grad = {b.grad.item():g}")

    W.grad = None                       # clear the accumulated gradients
    b.grad = None
    y_hat = W * x + b                   # recompute the forward: the old graph was freed
    loss = (y_hat - 5.0) ** 2
    loss.backward()
    print(f"   target 5: loss = {loss.item():g}, W.grad = {W.grad.item():g}, "
          f"b.grad = {b.grad.item():g}")

    try:
        (y_hat - 4.0).pow(2).backward()  # reuses y_hat, whose saved values are gone
    except RuntimeError as err:
        print(f"   reusing y_hat without recomputing it raises:\n     {err}")


def higher_order():
    print("2. Higher derivatives with create_graph=True: y = x**3 at x = 2")
    x = tg.tensor(2.0, requires_grad=True)
    y = x ** 3
    (dy,) = tg.autograd.grad(y, x, create_graph=True)
    (d2y,) = tg.autograd.grad(dy, x)
    print(f"   dy/dx = {dy.item():g} (3x^2), d2y/dx2 = {d2y.item():g} (6x)")


def small_things():
    print("3. Small things")
    x = tg.tensor(1.0, requires_grad=True)
    (x ** 2).backward()
    print(f"   d(x^2)/dx at 1 = {x.grad.item():g}")
    x.grad = None
    (x.detach() * 5 + x).backward()
    print(f"   detach() blocks the gradient: d(5*detach(x) + x)/dx = {x.grad.item():g}")
    try:
        x += 1
    except RuntimeError as err:
        print(f"   x += 1 on a leaf that requires grad raises: {err}")
    x2 = x + 1
    print(f"   x = x + 1 works: {x2}")
    with tg.no_grad():
        z = x * 2
    print(f"   under no_grad: requires_grad = {z.requires_grad}")
    x.grad = None
    (x * 3).backward()
    (x * 3).backward()
    print(f"   two backward calls accumulate: x.grad = {x.grad.item():g}")


def tiny_regression():
    print("4. Fitting y = 2x + 1 by gradient descent")
    tg.manual_seed(0)
    xs = tg.linspace(-1, 1, 32)
    ys = 2 * xs + 1
    w = tg.zeros((), requires_grad=True)
    b = tg.zeros((), requires_grad=True)
    for _ in range(200):
        loss = ((w * xs + b - ys) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad = b.grad = None
    print(f"   w = {w.item():.4f}, b = {b.item():.4f}, loss = {loss.item():.2e}")


if __name__ == "__main__":
    linear_model()
    higher_order()
    small_things()
    tiny_regression()
