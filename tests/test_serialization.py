"""save/load and save_file/load_file: round trips, interoperability with the safetensors
package, and refusal of damaged, hostile and pickle files (issue 8)."""
import io
import json
import os
import pickle
import struct

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _same(a, b):
    if isinstance(a, tg.Tensor):
        assert isinstance(b, tg.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.detach().numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert type(b) is dict and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert type(a) is type(b) and a == b


def test_nested_checkpoint_round_trips(tmp_path):
    obj = {
        "model": {"w": tg.randn(3, 2), "b": tg.zeros(2, dtype=tg.float64),
                  "count": tg.tensor(5), "mask": tg.tensor([True, False])},
        "optim": {"state": {0: {"step": tg.tensor(3.0), "avg": tg.ones(3, 2)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                    "nesterov": False, "name": None}]},
        "epoch": 7, "best": float("inf"), "worst": float("-inf"), "gap": float("nan"),
        "history": [0.5, 0.25], "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar": tg.tensor(2.5, dtype=tg.float16), "empty": tg.zeros(0, 4),
        "view": tg.arange(12.0).reshape(3, 4).t(),
    }
    path = tmp_path / "ckpt.safetensors"
    tg.save(obj, path)
    _same(obj, tg.load(path))
    _same(obj, tg.load(str(path), weights_only=False))


def test_save_detaches_and_refuses_what_it_cannot_store(tmp_path):
    w = tg.ones(2, requires_grad=True)
    tg.save({"y": w * 2}, tmp_path / "a.safetensors")
    loaded = tg.load(tmp_path / "a.safetensors")["y"]
    assert loaded.tolist() == [2.0, 2.0] and not loaded.requires_grad
    with pytest.raises(TypeError, match=r"can't store set at obj\['s'\]"):
        tg.save({"s": {1, 2}}, tmp_path / "b.safetensors")
    with pytest.raises(TypeError, match="dict keys must be strings or ints"):
        tg.save({(1, 2): 3}, tmp_path / "b.safetensors")
    assert not (tmp_path / "b.safetensors").exists()


def test_numpy_scalars_and_byte_orders_are_stored(tmp_path):
    # np.float32/np.int64 scalars were stored but np.bool_ was refused; a big-endian array
    # (FITS, network data) was refused though its values fit the file's little-endian F32.
    path = tmp_path / "np.safetensors"
    tg.save({"flag": np.bool_(True), "x": np.array([1.5, -2.0], ">f4")}, path)
    out = tg.load(path)
    assert out["flag"] is True
    assert out["x"].dtype == np.float32 and out["x"].tolist() == [1.5, -2.0]
    # A NumPy integer key (an index from np.argsort, say) was refused as "got 0".
    tg.save({np.int64(3): "a"}, path)
    assert tg.load(path) == {3: "a"}


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    tg.save({"w": tg.ones(2), "k": "text"}, buf)
    buf.seek(0)
    _same({"w": tg.ones(2), "k": "text"}, tg.load(buf))


def test_a_text_mode_file_object_is_refused_clearly(tmp_path):
    # It leaked struct's "a bytes-like object is required, not 'str'".
    path = tmp_path / "t.safetensors"
    tg.save({"w": tg.ones(2)}, path)
    with open(path, encoding="latin-1") as text, pytest.raises(TypeError, match="'rb'"):
        tg.load(text)


def test_flat_files_interoperate_with_the_safetensors_package(tmp_path):
    path = str(tmp_path / "model.safetensors")
    tensors = {"layer.weight": tg.randn(4, 3), "layer.bias": tg.zeros(4, dtype=tg.float64),
               "steps": tg.tensor([1, 2], dtype=tg.int64)}
    tg.save_file(tensors, path, metadata={"format": "pt"})
    theirs = safetensors_numpy.load_file(path)
    assert sorted(theirs) == sorted(tensors)
    for k, v in tensors.items():
        np.testing.assert_array_equal(theirs[k], v.numpy())
    written = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 0], np.uint8)}
    other = str(tmp_path / "other.safetensors")
    safetensors_numpy.save_file(written, other)
    ours = tg.load_file(other)
    for k, v in written.items():
        np.testing.assert_array_equal(ours[k].numpy(), v)
    assert tg.load(other).keys() == ours.keys()     # a flat file loads with load() too


def test_file_written_by_the_package_loads_into_a_module(tmp_path):
    lin_cls = getattr(tg.nn, "Linear", None)
    if lin_cls is None:
        pytest.skip("nn.Linear is not available")
    lin = lin_cls(3, 2)
    path = str(tmp_path / "lin.safetensors")
    weights = {"weight": np.full((2, 3), 0.5, np.float32), "bias": np.array([1, 2], np.float32)}
    safetensors_numpy.save_file(weights, path)
    lin.load_state_dict(tg.load_file(path))
    assert lin(tg.ones(1, 3)).tolist() == [[2.5, 3.5]]


def test_bf16_tensors_widen_to_float32(tmp_path):
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    header += b" " * (-len(header) % 8)
    path = tmp_path / "bf16.safetensors"
    # bfloat16 1.0 is 0x3F80 and -2.0 is 0xC000 (little-endian)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\x80\x3f\x00\xc0")
    w = tg.load_file(path)["w"]
    assert w.dtype == tg.float32 and w.tolist() == [1.0, -2.0]


def test_torch_reads_our_file_and_we_read_torch_s():
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    import tempfile
    d = tempfile.mkdtemp()
    ours = os.path.join(d, "ours.safetensors")
    tg.save_file({"w": tg.arange(6.0).reshape(2, 3)}, ours)
    assert st_torch.load_file(ours)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    theirs = os.path.join(d, "theirs.safetensors")
    st_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16), "i": torch.arange(3)}, theirs)
    loaded = tg.load_file(theirs)
    assert loaded["w"].tolist() == [1.0, 1.0] and loaded["i"].dtype == tg.int64


# ---- damaged and hostile files -------------------------------------------------------------
@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.safetensors"
    tg.save({"w": tg.arange(64.0), "epoch": 3}, path)
    return path


def test_truncated_files_are_refused(good, tmp_path):
    data = good.read_bytes()
    for cut in (0, 5, 20, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.safetensors"):
            tg.load(bad)


def test_bit_flips_are_caught(good, tmp_path):
    data = bytearray(good.read_bytes())
    (n,) = struct.unpack("<Q", bytes(data[:8]))
    flipped = bytearray(data)
    flipped[-3] ^= 0x10                             # in the tensor data: the checksum
    bad = tmp_path / "flip.safetensors"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="checksum"):
        tg.load(bad)
    for pos in range(8, 8 + n, max(1, n // 25)):    # anywhere in the header
        flipped = bytearray(data)
        flipped[pos] ^= 0x04
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError):
            tg.load(bad)


def test_oversized_header_is_refused_without_allocating(tmp_path):
    bad = tmp_path / "huge.safetensors"
    bad.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(CheckpointError, match="over the .*limit"):
        tg.load_file(bad)
    bad.write_bytes(struct.pack("<Q", 1000) + b"{}" + b" " * 6)
    with pytest.raises(CheckpointError, match="truncated"):
        tg.load_file(bad)


def test_inconsistent_headers_are_refused(tmp_path):
    def write(header, body=b"\0" * 16):
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        path = tmp_path / "h.safetensors"
        path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)
        return path
    cases = [
        ({"w": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, "claims bytes"),
        ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, "claims bytes"),
        ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, "dtype C64"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "malformed"),
        ({"w": {"dtype": "F32", "shape": [2]}}, "malformed"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, "overlap"),
    ]
    for header, message in cases:
        with pytest.raises(CheckpointError, match=message):
            tg.load_file(write(header))
    path = tmp_path / "list.safetensors"
    path.write_bytes(struct.pack("<Q", 8) + b"[1,2,3] ")
    with pytest.raises(CheckpointError, match="not a JSON object"):
        tg.load_file(path)


@pytest.mark.parametrize("header", [
    {"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}},     # unhashable dtype
    {"__metadata__": ["x"]}, {"__metadata__": "x"}, {"__metadata__": {"k": 1}},
    {"w": {"dtype": "F32", "shape": [0, 2 ** 70], "data_offsets": [0, 0]}},
    {"w": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40, 0], "data_offsets": [0, 0]}},
    {"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}},
    {"w": {"dtype": "F32", "shape": [1] * 100, "data_offsets": [0, 4]}},
    "[" * 100000 + "]" * 100000,                                          # JSON too deep
], ids=lambda h: str(h)[:30])
def test_hostile_headers_give_a_checkpoint_error_naming_the_file(header, tmp_path):
    # NumPy's and json's own exceptions (TypeError, RecursionError, ...) must not leak.
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)
    with pytest.raises(CheckpointError, match="hostile.safetensors"):
        tg.load_file(path)


@pytest.mark.parametrize("structure", [
    '{"__tensor__": [1]}', '{"__dict__": 5}', '{"__dict__": [[1]]}', '{"__dict__": [[[1], 2]]}',
    '{"__float__": "abc"}', '{"__tuple__": 5}', "[" * 5000 + "]" * 5000],
    ids=lambda s: s[:20])
def test_hostile_structures_give_a_checkpoint_error(structure, tmp_path):
    # The checksum is no signature: a hostile file carries a valid one for any structure.
    from tapegrad.serialization import _STRUCTURE, _encode
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(bytes(_encode({}, {_STRUCTURE: structure})))
    with pytest.raises(CheckpointError, match="hostile.safetensors"):
        tg.load(path)


class _Exploit:
    """Unpickling this would create a file; a safe loader never unpickles it."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_files_are_refused_and_never_executed(tmp_path):
    target = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"w": _Exploit(str(target))}, protocol=2))
    with pytest.raises(CheckpointError, match="pickle.*never unpickles|never unpickles"):
        tg.load(evil)
    with pytest.raises(CheckpointError, match="safetensors.torch import save_file"):
        tg.load_file(evil)
    assert not target.exists()
    zipped = tmp_path / "model.pth"
    import zipfile
    with zipfile.ZipFile(zipped, "w") as z:             # PyTorch's zip checkpoints
        z.writestr("archive/data.pkl", pickle.dumps({"w": _Exploit(str(target))}))
    with pytest.raises(CheckpointError, match="PyTorch .pt/.pth"):
        tg.load(zipped)


def test_other_formats_are_named_as_not_safetensors(tmp_path):
    # An .npz (a zip without PyTorch's data.pkl) was called a PyTorch pickle file, and an
    # .npy or HDF5 file only "corrupted or hostile".
    npz, npy = tmp_path / "a.npz", tmp_path / "a.npy"
    np.savez(npz, x=np.ones(2))
    np.save(npy, np.ones(2))
    with pytest.raises(CheckpointError, match="a.npz.*zip archive.*not a safetensors file"):
        tg.load_file(npz)
    with pytest.raises(CheckpointError, match="a.npy.*not a safetensors file"):
        tg.load_file(npy)


def test_writes_are_atomic(good, monkeypatch):
    before = good.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash during rename")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        tg.save({"w": tg.zeros(3)}, good)
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in good.parent.iterdir()) == ["good.safetensors"]


def test_written_files_get_the_usual_permissions(good, tmp_path):
    # mkstemp makes the temporary file 0600, and the rename kept that: checkpoints were
    # unreadable to the group, unlike torch.save's; an overwritten file keeps its mode.
    import stat
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.safetensors"
        tg.save_file({"w": tg.ones(1)}, fresh)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        os.chmod(good, 0o640)
        tg.save({"w": tg.ones(1)}, good)
        assert stat.S_IMODE(good.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_save_file_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="string names"):
        tg.save_file({1: tg.ones(1)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="strings to strings"):
        tg.save_file({"a": tg.ones(1)}, tmp_path / "x.safetensors", metadata={"k": 1})
