"""tapegrad.utils.data: datasets, samplers, collation and the DataLoader (issue 8)."""
import collections
import random
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                                 IterableDataset, RandomSampler, SequentialSampler,
                                 StackDataset, Subset, SubsetRandomSampler, TensorDataset,
                                 WeightedRandomSampler, default_collate, default_convert,
                                 get_worker_info, random_split)


class Squares(Dataset):
    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return tg.tensor([float(i), float(i * i)]), i


class Fails(Squares):
    def __getitem__(self, i):
        if i == 7:
            raise KeyError(f"sample {i} is broken")
        return super().__getitem__(i)


class Stream(IterableDataset):
    """0..n-1, each worker taking every num_workers-th item."""

    def __init__(self, n=10):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


_INIT = {}


def _record_init(worker_id):
    _INIT["id"] = worker_id


class SeedProbe(Dataset):
    """Each sample reports the worker's id, what worker_init_fn recorded there, and the
    random draws made there."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return {"worker": info.id, "init": _INIT.get("id"), "seed": info.seed,
                "tg": tg.rand(1).item(),
                "np": float(np.random.rand()), "py": random.random()}


Point = collections.namedtuple("Point", "x y")


# ---- datasets ------------------------------------------------------------------------------
def test_tensor_and_stack_datasets():
    ds = TensorDataset(tg.arange(6.0).reshape(3, 2), tg.tensor([0, 1, 2]))
    assert len(ds) == 3 and ds[2][1].item() == 2 and ds[-1][0].tolist() == [4.0, 5.0]
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(tg.ones(3, 2), tg.ones(4))
    st = StackDataset([1, 2], ["a", "b"])
    assert st[1] == (2, "b") and len(st) == 2
    assert StackDataset(x=[1, 2], y=[3, 4])[0] == {"x": 1, "y": 3}
    with pytest.raises(ValueError, match="same length"):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError, match="not both"):
        StackDataset([1], y=[2])
    with pytest.raises(ValueError, match="at least one dataset"):   # it said "got []"
        StackDataset()


def test_concat_chain_and_subset():
    cat = ConcatDataset([[0, 1], [2], [3, 4, 5]])
    assert len(cat) == 6 and [cat[i] for i in range(6)] == list(range(6)) and cat[-6] == 0
    assert cat.cumulative_sizes == [2, 3, 6]
    with pytest.raises(IndexError):
        cat[6]
    with pytest.raises(IndexError):
        cat[-7]
    assert len(Squares(3) + Squares(4)) == 7
    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([Stream()])
    assert list(ChainDataset([Stream(3), Stream(2)])) == [0, 1, 2, 0, 1]
    assert list(Stream(2) + Stream(1)) == [0, 1, 0]
    sub = Subset(Squares(), [5, 1])
    assert len(sub) == 2 and sub[0][1] == 5 and sub[1][1] == 1


def test_random_split_lengths_fractions_and_reproducibility():
    parts = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(4))
    again = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(4))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    assert [len(p) for p in random_split(range(10), [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(p) for p in random_split(range(11), [1 / 3, 1 / 3, 1 / 3])] == [4, 4, 3]
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(range(10), [3, 3])
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])


# ---- samplers ------------------------------------------------------------------------------
def test_samplers():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    s = RandomSampler(range(10), generator=tg.Generator().manual_seed(1))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(10)) and first != second      # a new order each pass
    assert list(RandomSampler(range(10), generator=tg.Generator().manual_seed(1))) == first
    long = list(RandomSampler(range(4), num_samples=10))
    assert len(long) == 10 and sorted(long[:4]) == [0, 1, 2, 3] and sorted(long[4:8]) == [0, 1,
                                                                                          2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=200))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    assert sorted(SubsetRandomSampler([9, 4, 6])) == [4, 6, 9]
    w = list(WeightedRandomSampler([0.0, 3.0, 1.0], 4000,
                                   generator=tg.Generator().manual_seed(0)))
    counts = np.bincount(w, minlength=3)
    assert counts[0] == 0 and 0.70 < counts[1] / 4000 < 0.80
    assert sorted(WeightedRandomSampler([1, 1, 0, 1], 3, replacement=False)) == [0, 1, 3]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1, 0], 2, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 2)
    batches = BatchSampler(range(7), 3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6]] and len(batches) == 3
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)


# ---- collation -----------------------------------------------------------------------------
def test_default_collate_follows_pytorch_rules():
    out = default_collate([{"x": tg.ones(2), "y": 1, "z": 0.5, "s": "a", "b": True,
                            "a": np.array([1, 2], np.int32), "p": Point(1, 2.0),
                            "t": (3, 4)}] * 2)
    assert out["x"].shape == (2, 2) and out["y"].dtype == tg.int64
    assert out["z"].dtype == tg.float64 and out["s"] == ["a", "a"]
    assert out["b"].dtype == tg.bool and out["a"].dtype == tg.int32
    assert isinstance(out["p"], Point) and out["p"].y.dtype == tg.float64
    assert isinstance(out["t"], list) and out["t"][0].tolist() == [3, 3]
    assert default_collate([np.float32(1.5), np.float32(2.5)]).dtype == tg.float32
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([tg.ones(2), tg.ones(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object()])
    conv = default_convert({"a": np.ones(2), "b": (np.zeros(1), "s")})
    assert isinstance(conv["a"], tg.Tensor) and isinstance(conv["b"], list)



def test_collate_keeps_container_types_as_pytorch():
    # torch.utils.data: strings collated inside a tuple, list or namedtuple stay the tuple
    # zip made, and a Mapping keeps its type (OrderedDict, defaultdict, ...).
    out = default_collate([(1, "a"), (2, "b")])
    assert out[1] == ("a", "b")
    assert default_collate([Point(1, "a"), Point(2, "b")]).y == ("a", "b")
    assert default_collate([{"s": "a"}, {"s": "b"}])["s"] == ["a", "b"]
    od = default_collate([collections.OrderedDict(a=1, b=2)] * 2)
    assert type(od) is collections.OrderedDict and list(od) == ["a", "b"]
    dd = default_collate([collections.defaultdict(int, a=1)] * 2)
    assert type(dd) is collections.defaultdict and dd.default_factory is int
    conv = default_convert(collections.OrderedDict(a=np.ones(1)))
    assert type(conv) is collections.OrderedDict and isinstance(conv["a"], tg.Tensor)


def test_collate_of_mixed_numbers_and_of_tensors_that_need_grad():
    # The first sample's type fixed the dtype: [1, 2.5] became [1, 2] and [True, 2] became
    # [True, True]. PyTorch infers from the whole batch when the first is an int or bool.
    out = default_collate([1, 2.5])
    assert out.dtype == tg.float32 and out.tolist() == [1.0, 2.5]
    assert default_collate([True, 2]).tolist() == [1, 2]
    assert default_collate([True, False]).dtype == tg.bool
    # Stacking the arrays dropped the graph; torch.stack keeps it.
    w = tg.ones(2, requires_grad=True)
    batch = default_collate([w, tg.zeros(2)])
    batch.sum().backward()
    assert batch.requires_grad and w.grad.tolist() == [1.0, 1.0]



# ---- DataLoader ----------------------------------------------------------------------------
def test_batching_drop_last_and_len():
    dl = DataLoader(Squares(10), batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                                 [8, 9]]
    assert batches[0][0].shape == (4, 2)
    assert len(DataLoader(Squares(10), batch_size=4, drop_last=True)) == 2
    assert len(list(DataLoader(Squares(10), batch_size=4, drop_last=True))) == 2
    single = list(DataLoader(Squares(3), batch_size=None))
    assert single[1][1] == 1 and single[1][0].shape == (2,)
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                         [6]]
    assert len(DataLoader(Stream(7), batch_size=3, drop_last=True)) == 2
    assert list(DataLoader(Squares(2), pin_memory=True))[0][1].tolist() == [0]


def test_seeded_shuffle_reproduces_and_reshuffles():
    def order(seed):
        dl = DataLoader(Squares(), batch_size=5, shuffle=True,
                        generator=tg.Generator().manual_seed(seed))
        return [b[1].tolist() for b in dl], [b[1].tolist() for b in dl]
    a1, a2 = order(3)
    assert order(3) == (a1, a2) and a1 != a2 and order(4)[0] != a1
    assert sorted(sum(a1, [])) == list(range(23))
    tg.manual_seed(11)
    x = [b[1].tolist() for b in DataLoader(Squares(), batch_size=5, shuffle=True)]
    tg.manual_seed(11)
    assert x == [b[1].tolist() for b in DataLoader(Squares(), batch_size=5, shuffle=True)]


def test_sampler_batch_sampler_and_collate_fn():
    dl = DataLoader(Squares(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b[1].tolist() for b in dl] == [[5, 4], [3, 2], [1, 0]]
    dl = DataLoader(Squares(6), batch_sampler=[[0, 5], [2]])
    assert [b[1].tolist() for b in dl] == [[0, 5], [2]] and len(dl) == 2
    dl = DataLoader(Squares(4), batch_size=2, collate_fn=lambda batch: [i for _, i in batch])
    assert list(dl) == [[0, 1], [2, 3]]


def test_argument_errors_match_pytorch():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(Squares(), sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(Squares(), batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(Squares(), num_workers=-1)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(Squares(), prefetch_factor=2)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(Squares(), batch_size=None, drop_last=True)
    # A bad start method was found only on iterating ("cannot find context for 'foo'").
    with pytest.raises(ValueError, match="valid start method .* got multiprocessing_context="):
        DataLoader(Squares(), num_workers=1, multiprocessing_context="foo")


def test_workers_keep_batch_order_and_match_single_process():
    kw = dict(batch_size=3, shuffle=True, generator=tg.Generator().manual_seed(0))
    single = [b[1].tolist() for b in DataLoader(Squares(), **kw)]
    kw["generator"] = tg.Generator().manual_seed(0)
    multi = DataLoader(Squares(), num_workers=2, **kw)
    assert [b[1].tolist() for b in multi] == single
    stream = DataLoader(Stream(10), batch_size=2, num_workers=2)
    assert sorted(sum((b.tolist() for b in stream), [])) == list(range(10))
    assert [b.tolist() for b in stream][:2] == [[0, 2], [1, 3]]   # one batch per worker in turn


def test_workers_are_seeded_and_initialised_per_worker():
    dl = DataLoader(SeedProbe(), batch_size=None, num_workers=2,
                    generator=tg.Generator().manual_seed(5),
                    worker_init_fn=_record_init)
    samples = list(dl)
    by_worker = {s["worker"]: s for s in samples}
    assert set(by_worker) == {0, 1} and all(s["init"] == s["worker"] for s in samples)
    assert "id" not in _INIT                        # it ran in the workers only
    assert by_worker[1]["seed"] == by_worker[0]["seed"] + 1
    for key in ("tg", "np", "py"):
        assert by_worker[0][key] != by_worker[1][key]
    again = list(DataLoader(SeedProbe(), batch_size=None, num_workers=2,
                            generator=tg.Generator().manual_seed(5)))
    assert [s["tg"] for s in again] == [s["tg"] for s in samples]
    assert get_worker_info() is None


def test_worker_errors_are_reraised_with_their_type():
    with pytest.raises(KeyError, match="sample 7 is broken"):
        list(DataLoader(Fails(), batch_size=4, num_workers=2))


def test_persistent_workers_survive_break_and_restart():
    dl = DataLoader(Squares(12), batch_size=3, num_workers=2, persistent_workers=True)
    for i, batch in enumerate(dl):
        if i == 1:
            break
    assert batch[1].tolist() == [3, 4, 5]
    assert [b[1].tolist() for b in dl] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    pool = dl._pool
    assert [b[1].tolist() for b in dl][0] == [0, 1, 2] and dl._pool is pool


def test_persistent_workers_restart_an_iterable_dataset_every_pass():
    # Each pass iterates the dataset afresh in every worker, as PyTorch does; the workers'
    # iterator was made once, so the second epoch was silently empty.
    for n in (1, 2):
        dl = DataLoader(Stream(6), batch_size=2, num_workers=n, persistent_workers=True)
        first = sorted(sum((b.tolist() for b in dl), []))
        for i, _ in enumerate(dl):
            if i == 0:
                break                                  # an abandoned pass, then a full one
        assert first == list(range(6)) and sorted(sum((b.tolist() for b in dl), [])) == first


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        import time
        time.sleep(0.8)
        return i


class BrokenStream(IterableDataset):
    def __iter__(self):
        raise OSError("the stream can't open")


def _failing_init(worker_id):
    raise ValueError(f"worker {worker_id} can't start")


class Lambdas(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return lambda: i                               # can't be sent back from a worker


def test_worker_timeout_and_startup_errors_are_prompt_and_typed():
    import time
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.3"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.3))
    with pytest.raises(OSError, match="can't open"):
        list(DataLoader(BrokenStream(), num_workers=1))
    with pytest.raises(ValueError, match="worker 0 can't start"):
        list(DataLoader(Squares(4), num_workers=1, worker_init_fn=_failing_init))
    # An unpicklable batch used to be dropped by the queue's feeder thread: a hang when
    # timeout=0. The 30 s timeout only keeps a regression from hanging the suite.
    with pytest.raises(RuntimeError, match="pickle"):
        list(DataLoader(Lambdas(), batch_size=None, num_workers=1, timeout=30))
    assert time.monotonic() - start < 12


def test_prefetch_factor_below_one_with_workers_is_refused():
    # It used to send no work at all: an empty loader, silently.
    with pytest.raises(ValueError, match="prefetch_factor option should be non-negative"):
        DataLoader(Squares(4), num_workers=1, prefetch_factor=-1)
    with pytest.raises(ValueError, match="prefetch_factor must be greater than 0"):
        DataLoader(Squares(4), num_workers=1, prefetch_factor=0)


def test_random_sampler_over_an_empty_dataset_raises_instead_of_hanging():
    # Without replacement it repeated empty permutations forever to reach num_samples.
    for replacement in (False, True):
        with pytest.raises(ValueError, match="empty"):
            list(RandomSampler([], replacement=replacement, num_samples=3))
    assert list(RandomSampler([])) == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_workers_exit_when_the_main_process_dies():
    # Workers blocked on their index queue outlived a killed main process for ever; they
    # now watch their parent, as PyTorch's do.
    import os
    import signal
    import subprocess
    import sys
    import time
    script = ("import os, signal, tapegrad.utils.data as d\n"
              "dl = d.DataLoader(list(range(9)), num_workers=2, persistent_workers=True)\n"
              "next(iter(dl)); print(*[p.pid for p in dl._pool.procs], flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    # Popen, not run: the orphans hold the stdout pipe open, so it never reaches EOF.
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    pids = [int(p) for p in proc.stdout.readline().split()]
    proc.wait(timeout=60)
    proc.stdout.close()
    assert len(pids) == 2

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:                                 # a zombie is gone for our purpose
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return True
    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for p in left:                           # don't leak them from the test run
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {left} outlived their parent"


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_a_loader_finalised_in_a_forked_child_leaves_its_workers_alone():
    # A forked process (another loader's worker, say) holds a copy of every loader; when
    # its copy was collected there, shutdown() sent the stop signal to the parent's
    # workers and failed with "can only join a child process".
    import multiprocessing
    dl = DataLoader(Squares(6), batch_size=3, num_workers=1, persistent_workers=True)
    assert len(list(dl)) == 2
    child = multiprocessing.get_context("fork").Process(target=dl._pool.shutdown)
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert [b[1].tolist() for b in dl] == [[0, 1, 2], [3, 4, 5]]
