"""The examples run: the digits demo for one short epoch (the full 97% run is a benchmark, see
benchmarks/README.md) and the quick start."""
import importlib.util
import os
import runpy
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_demo_one_epoch(tmp_path, capsys):
    for extra in ("sklearn", "tqdm", "matplotlib"):
        pytest.importorskip(extra)
    digits = _load("digits")
    accuracy, same = digits.main(["--epochs", "1", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert same, "the reloaded checkpoint predicts differently"
    assert accuracy > 0.7, f"one epoch should already learn something, got {accuracy:.2%}"
    assert "test accuracy" in out and "same predictions: True" in out
    assert (tmp_path / "digits.safetensors").stat().st_size > 100_000
    assert (tmp_path / "digits_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digits_demo_names_the_missing_extra(monkeypatch):
    digits = _load("digits")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tqdm" else real(name, *a))
    with pytest.raises(SystemExit, match=r'missing tqdm; .*pip install "tapegrad\[demo\]"'):
        digits.main(["--epochs", "1"])


def test_quickstart_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["quickstart.py"])
    runpy.run_path(os.path.join(EXAMPLES, "quickstart.py"), run_name="__main__")
    assert "W.grad" in capsys.readouterr().out
