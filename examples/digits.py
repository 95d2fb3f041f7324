"""Train a small convolutional network on handwritten digits with tapegrad.

The 1797 8x8 digit images ship inside scikit-learn's package (nothing is downloaded). The
script trains with tapegrad.nn, AdamW and a one-cycle learning-rate schedule, shows a progress
bar per epoch, prints the test accuracy, saves a safetensors checkpoint and a PNG of the
training curves, then reloads the checkpoint into a fresh model and checks it predicts the same.

Run: pip install ".[demo]" && python examples/digits.py [--epochs N] [--seed S] [--out DIR]
"""
import argparse
import importlib.util
import os
import sys
import time

# NOTE: one BLAS thread unless the user chose otherwise. The products here are small (batch 64
# of 8x8 images), so threads cannot speed them up, and on a busy machine their spin-waiting
# made the whole run 6x slower (35 s of training instead of 6 s on two shared cores). It must
# be set before NumPy loads its BLAS.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402  (after the thread settings above)

import tapegrad as tg  # noqa: E402
import tapegrad.nn as nn  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402
from tapegrad.utils.data import DataLoader, TensorDataset  # noqa: E402

EXTRA = 'this demo needs its extra packages: pip install "tapegrad[demo]" (or, in the ' \
        'repository, pip install ".[demo]")'


def require_extras():
    """tqdm and matplotlib, or a one-line message naming the pip command."""
    missing = [name for name in ("sklearn", "tqdm", "matplotlib")
               if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(f"digits.py: missing {', '.join(missing)}; {EXTRA}")


def load_digits(seed, test_fraction=0.2):
    """The digits as float32 images (N, 1, 8, 8) in [0, 1] and int64 labels, split at random.

    Read straight from the CSV file inside scikit-learn's package: importing
    sklearn.datasets takes seconds, reading the file takes milliseconds."""
    root = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    data = np.loadtxt(os.path.join(root, "datasets", "data", "digits.csv.gz"), delimiter=",")
    images = (data[:, :-1] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    labels = data[:, -1].astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (tg.tensor(images[train]), tg.tensor(labels[train]),
            tg.tensor(images[test]), tg.tensor(labels[test]))


class DigitNet(nn.Module):
    """Two 3x3 convolutions, a 2x2 max pool and two linear layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def accuracy(model, images, labels):
    model.eval()
    with tg.no_grad():
        predicted = model(images).argmax(dim=1)
    model.train()
    return (predicted == labels).float().mean().item()


def train(args):
    from tqdm import tqdm

    tg.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits(args.seed)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                        shuffle=True, generator=tg.Generator().manual_seed(args.seed))
    model = DigitNet()
    optimizer = tg.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = tg.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                 epochs=args.epochs,
                                                 steps_per_epoch=len(loader))
    history = {"loss": [], "train_acc": [], "test_acc": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total, correct, seen = 0.0, 0, 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{args.epochs}", leave=True,
                   disable=args.quiet, ncols=90)
        for images, labels in bar:
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(labels)
            correct += (logits.argmax(dim=1) == labels).sum().item()
            seen += len(labels)
            bar.set_postfix(loss=f"{total / seen:.3f}", acc=f"{correct / seen:.3f}")
        history["loss"].append(total / seen)
        history["train_acc"].append(correct / seen)
        history["test_acc"].append(accuracy(model, x_test, y_test))
    seconds = time.perf_counter() - start
    history["samples_per_s"] = args.epochs * len(y_train) / seconds
    return model, optimizer, history, seconds, (x_test, y_test)


def save_plot(history, path):
    import matplotlib
    matplotlib.use("Agg")                 # no display needed
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history["loss"], marker="o")
    left.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    right.plot(epochs, history["train_acc"], marker="o", label="train")
    right.plot(epochs, history["test_acc"], marker="o", label="test")
    right.set(title="accuracy", xlabel="epoch", ylim=(0.5, 1.0))
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training set")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, init, shuffle")
    parser.add_argument("--out", default="digits_output", help="directory for the outputs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    require_extras()
    os.makedirs(args.out, exist_ok=True)

    model, optimizer, history, seconds, (x_test, y_test) = train(args)
    test_acc = history["test_acc"][-1]
    print(f"test accuracy {test_acc:.2%} after {args.epochs} epochs in {seconds:.1f} s "
          f"({history['samples_per_s']:.0f} training samples/s)")

    checkpoint = os.path.join(args.out, "digits.safetensors")
    tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "epoch": args.epochs, "test_accuracy": test_acc}, checkpoint)
    plot = os.path.join(args.out, "digits_curves.png")
    save_plot(history, plot)
    print(f"saved {checkpoint} and {plot}")

    fresh = DigitNet()
    fresh.load_state_dict(tg.load(checkpoint)["model"])
    fresh.eval()
    model.eval()
    with tg.no_grad():
        same = bool((fresh(x_test).argmax(dim=1) == model(x_test).argmax(dim=1)).all())
    print(f"reloaded the checkpoint into a fresh model: same predictions: {same}")
    return test_acc, same


if __name__ == "__main__":
    main()
