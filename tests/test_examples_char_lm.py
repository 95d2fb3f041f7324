"""examples/char_lm.py runs: a few tiny training steps of each model, then its checkpoint
reloads into a fresh model that computes the same logits (the full one-minute run is the
example itself)."""
import importlib.util
import os

import numpy as np
import pytest

import tapegrad as tg

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
TINY = ["--width", "32", "--context", "24", "--batch-size", "8", "--sample-length", "24",
        "--lr", "1e-2"]


def _load_char_lm():
    path = os.path.join(EXAMPLES, "char_lm.py")
    spec = importlib.util.spec_from_file_location("char_lm", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_text_ships_as_public_domain_ascii():
    char_lm = _load_char_lm()
    with open(char_lm.TEXT, "rb") as fh:
        raw = fh.read()
    assert 40_000 <= len(raw) <= 80_000
    assert raw.isascii()
    assert b"dedicated to the public domain (CC0 1.0)" in raw[:500]


@pytest.mark.parametrize("model, steps", [("transformer", 8), ("lstm", 8)])
def test_char_lm_learns_samples_and_reloads(tmp_path, capsys, model, steps):
    char_lm = _load_char_lm()
    result = char_lm.main(["--model", model, "--steps", str(steps), "--print-every", "2",
                           "--layers", "1", "--seed", "3", "--out", str(tmp_path)] + TINY)
    out = capsys.readouterr().out
    history, alphabet = result["history"], result["alphabet"]
    text, _ = char_lm.load_text()
    assert alphabet == "".join(sorted(set(text)))

    first, last = history[0][1], history[-1][1]
    assert first > np.log(len(alphabet)) - 0.5, "an untrained model should be near uniform"
    assert last < first - 0.3, f"the loss should fall within {steps} steps: {first} -> {last}"
    assert [h[0] for h in history] == [1] + list(range(2, steps + 1, 2))  # every 2 steps
    sample = history[-1][3]
    assert len(sample) == 24 and set(sample) <= set(alphabet)
    assert f"loss {first:.3f} -> {last:.3f}" in out and "same logits: True" in out

    # The checkpoint alone rebuilds the model: same config, same weights, same logits on
    # windows of the real text (not only on the prompt that main() itself checks).
    fresh, saved_alphabet = char_lm.load_checkpoint(result["checkpoint"])
    assert saved_alphabet == alphabet and fresh.kind == model
    windows = tg.tensor([[alphabet.index(c) for c in text[i:i + 24]] for i in (0, 5000, 30000)])
    trained = result["model"]
    trained.eval()
    fresh.eval()
    with tg.no_grad():
        expected, got = trained(windows)[0].numpy(), fresh(windows)[0].numpy()
    assert np.array_equal(expected, got)
    saved = tg.load(result["checkpoint"])
    assert saved["step"] == steps and saved["config"]["model"] == model
    assert len(saved["optimizer"]["state"]) == len(list(fresh.parameters()))
