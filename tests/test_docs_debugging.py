"""docs/debugging.md's code blocks run as written, in order, in one namespace (as a reader
pasting them into one session would)."""
import pathlib
import re
import warnings

import pytest

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "debugging.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_has_code():
    assert len(_blocks()) >= 5


def test_every_block_runs(capsys):
    namespace = {"__name__": "docs_debugging"}
    for i, code in enumerate(_blocks()):
        try:
            with warnings.catch_warnings():    # (blocks may change filters: keep them here)
                exec(compile(code, f"docs/debugging.md block {i}", "exec"), namespace)
        except Exception as e:     # name the block, so a failure says where to look
            pytest.fail(f"docs/debugging.md block {i} raised {type(e).__name__}: {e}\n{code}")
