"""DataLoader: batches from a dataset, in order, optionally fetched by worker processes.

Note [DataLoader workers]
With ``num_workers > 0`` each worker is a process holding its own copy of the dataset.
Map-style: the main process sends batches of indices to the workers round-robin (at most
``prefetch_factor`` outstanding per worker) and yields results in the order it sent them, so
the batches are the same as with ``num_workers=0``. Iterable-style: each worker iterates its
copy of the dataset (shard it with :func:`get_worker_info`) and the main process takes one
batch from each worker in turn, skipping workers that are done. Worker ``i`` of a pass is
seeded with ``base_seed + i``: tapegrad's default generator, Python's ``random`` and, unlike
PyTorch, NumPy's global generator too (so NumPy-based augmentations differ between workers).
``base_seed`` is drawn from the loader's generator (or the default one) once per pass.
"""
import itertools
import os
import queue
import random
from collections import namedtuple

import numpy as np

from ...ops.creation import default_generator
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, _generator_rng

__all__ = ["DataLoader", "get_worker_info"]

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_worker_info = None
_DONE = "done"
_TIMEOUT_POLL = 5.0          # seconds between liveness checks of the workers
_PARENT_POLL = 2.0           # seconds between a worker's checks that its parent lives


def get_worker_info():
    """In a DataLoader worker process: its ``WorkerInfo(id, num_workers, seed, dataset)``;
    in the main process: None."""
    return _worker_info


class _Fetch:
    """How one batch is made from the dataset (the same in the main process and workers)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.drop_last = collate_fn, drop_last

    def map_style(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        return self.collate_fn(data)

    def iterable(self, it, batch_size):
        """The next batch from iterator ``it``, or raises StopIteration."""
        if not self.auto_collation:
            return self.collate_fn(next(it))
        data = list(itertools.islice(it, batch_size))
        if not data or (self.drop_last and len(data) < batch_size):
            raise StopIteration
        return self.collate_fn(data)


def _seed_worker(seed):
    default_generator.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)


def _worker_loop(fetch, index_q, result_q, worker_id, num_workers, seed, init_fn,
                 batch_size, iterable, parent):
    # ``parent`` is the main process's pid, passed in: a worker that read getppid() itself
    # could read it after a parent killed during the worker's start-up had already gone,
    # get its new parent's pid and never notice (CI saw such a worker outlive its parent).
    global _worker_info
    try:
        # A failure to start (worker_init_fn) is sent back as the answer to every task,
        # so the main process re-raises it with its type instead of finding a dead worker.
        startup_error = None
        try:
            _seed_worker(seed)
            _worker_info = WorkerInfo(worker_id, num_workers, seed, fetch.dataset)
            if init_fn is not None:
                init_fn(worker_id)
        except Exception as e:
            startup_error = _portable(e, worker_id)
        it, it_pass = None, None
        while True:
            try:
                task = index_q.get(timeout=_PARENT_POLL)
            except queue.Empty:
                # An orphan would wait on its queue for ever: leave once the parent is
                # gone (we are re-parented), as PyTorch's worker watchdog does.
                if os.getppid() != parent:
                    return
                continue
            if task is None:
                return
            key, indices = task
            if startup_error is not None:
                result_q.put(_pickled((key, False, startup_error), worker_id))
                continue
            try:
                if iterable:
                    # A new pass (persistent workers) iterates the dataset afresh, as
                    # PyTorch does; key is (pass number, worker).
                    if it is None or key[0] != it_pass:
                        it, it_pass = iter(fetch.dataset), key[0]
                    data = fetch.iterable(it, batch_size)
                else:
                    data = fetch.map_style(indices)
                result = (key, True, data)
            except StopIteration:
                result = (key, _DONE, None)
            except Exception as e:      # sent back and re-raised in the main process
                result = (key, False, _portable(e, worker_id))
            result_q.put(_pickled(result, worker_id))
    except KeyboardInterrupt:
        return


def _pickled(result, worker_id):
    """``result`` pickled here: the queue's feeder thread would only print a pickling
    error and drop the batch, leaving the main process waiting for it forever."""
    import pickle
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        error = RuntimeError(f"DataLoader worker {worker_id} could not pickle its batch to "
                             f"send it back ({type(e).__name__}: {e}); samples must be "
                             "picklable with num_workers > 0")
        where = f"raised in DataLoader worker process {worker_id}"
        return pickle.dumps((result[0], False, (error, where)))


def _portable(e, worker_id):
    """The exception to re-raise in the main process (its own type when it pickles)."""
    import pickle
    import traceback
    where = f"raised in DataLoader worker process {worker_id}:\n{traceback.format_exc()}"
    try:
        pickle.loads(pickle.dumps(e))
        return e, where
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}"), where


def _reraise(payload):
    exc, where = payload
    if hasattr(exc, "add_note"):
        exc.add_note(where)
    raise exc


class _WorkerPool:
    """The worker processes of one pass (or of every pass with persistent_workers).

    Tasks are tagged ``(pass number, key)``: results of an abandoned pass (a loop left by
    ``break`` with persistent workers) are recognised and dropped."""

    def __init__(self, loader, base_seed):
        import multiprocessing      # here, not at the top: it costs import time for everyone
        self.closed, self.owner, self.procs = False, os.getpid(), []
        ctx = loader.multiprocessing_context
        if ctx is None or isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self.n = loader.num_workers
        self.result_q = ctx.Queue()
        self.index_qs = [ctx.Queue() for _ in range(self.n)]
        iterable = isinstance(loader.dataset, IterableDataset)
        for i in range(self.n):
            p = ctx.Process(target=_worker_loop, daemon=True, args=(
                loader._fetch, self.index_qs[i], self.result_q, i, self.n, base_seed + i,
                loader.worker_init_fn, loader.batch_size, iterable, self.owner))
            p.start()
            self.procs.append(p)
        self.timeout = loader.timeout
        self.pass_id = 0

    def send(self, worker, key, indices=None):
        self.index_qs[worker].put(((self.pass_id, key), indices))

    def get(self):
        """(key, ok, data) of the next result of the current pass."""
        import pickle
        # Poll no longer than the user's timeout, so that it is honoured to the poll.
        poll = min(_TIMEOUT_POLL, self.timeout) if self.timeout else _TIMEOUT_POLL
        waited = 0.0
        while True:
            try:
                raw = self.result_q.get(timeout=poll)
            except queue.Empty:
                waited += poll
                dead = [i for i, p in enumerate(self.procs) if not p.is_alive()]
                if dead:
                    raise RuntimeError(f"DataLoader worker(s) {dead} exited unexpectedly "
                                       f"(exit codes {[self.procs[i].exitcode for i in dead]})")
                if self.timeout and waited >= self.timeout:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} s waiting "
                                       "for a worker")
                continue
            (pass_id, key), ok, data = pickle.loads(raw) if type(raw) is bytes else raw
            if pass_id != self.pass_id:
                continue
            if ok is False:
                _reraise(data)
            return key, ok, data

    def shutdown(self):
        # A forked process holds a copy of this pool; only the process that started the
        # workers may stop them.
        if self.closed or os.getpid() != self.owner:
            return
        self.closed = True
        for q in self.index_qs:
            q.put(None)
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()

    def __del__(self):
        try:
            self.shutdown()
        except Exception:
            pass


class DataLoader:
    """Iterates over a dataset in batches, as PyTorch's DataLoader.

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``) or an IterableDataset.
        batch_size: samples per batch (default 1); None turns batching off.
        shuffle: reshuffle the order every pass (map-style only).
        sampler: the index order (instead of ``shuffle``).
        batch_sampler: batches of indices (instead of batch_size/shuffle/sampler/drop_last).
        num_workers: worker processes (0: load in the main process).
        collate_fn: makes a batch from a list of samples (default :func:`default_collate`).
        pin_memory: accepted and ignored (there is only the CPU).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a worker's batch (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: a context or a start method name ("fork", "spawn", ...).
        generator: a :class:`tapegrad.Generator` for the shuffle and the workers' seeds.
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the worker processes between passes.

    Example:
        >>> import tapegrad as tg
        >>> ds = tg.utils.data.TensorDataset(tg.arange(5.0))
        >>> [b[0].tolist() for b in tg.utils.data.DataLoader(ds, batch_size=2)]
        [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is not None and prefetch_factor < 1:
            # NOTE: PyTorch fails only when iterating with 0; with no batch in flight the
            # loader would end at once, silently empty.
            if prefetch_factor < 0:
                raise ValueError("prefetch_factor option should be non-negative")
            raise ValueError("prefetch_factor must be greater than 0 with num_workers > 0 "
                             f"(got {prefetch_factor}): it is the batches in flight per worker")
        if isinstance(multiprocessing_context, str):
            import multiprocessing
            methods = multiprocessing.get_all_start_methods()
            if multiprocessing_context not in methods:
                raise ValueError(f"multiprocessing_context option should specify a valid start "
                                 f"method in {methods}, but got "
                                 f"multiprocessing_context={multiprocessing_context!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler and batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers = persistent_workers
        auto = batch_sampler is not None or (iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if auto else default_convert
        self.collate_fn = collate_fn
        self._fetch = _Fetch(dataset, auto, collate_fn, drop_last)
        self._pool = None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)            # TypeError when the stream has no length
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self):
        # Drawn on every pass, with or without workers, so that a seeded shuffle gives the
        # same batches either way (as in PyTorch).
        base_seed = int(_generator_rng(self.generator).integers(2 ** 62))
        if self.num_workers == 0:
            return self._single_process()
        return self._multi_process(base_seed)

    def _single_process(self):
        if isinstance(self.dataset, IterableDataset):
            it = iter(self.dataset)
            while True:
                try:
                    yield self._fetch.iterable(it, self.batch_size)
                except StopIteration:
                    return
        for indices in self._index_sampler:
            yield self._fetch.map_style(indices)

    def _take_pool(self, base_seed):
        if self.persistent_workers and self._pool is not None and not self._pool.closed:
            self._pool.pass_id += 1
            return self._pool
        pool = _WorkerPool(self, base_seed)
        if self.persistent_workers:
            self._pool = pool
        return pool

    def _multi_process(self, base_seed):
        pool = self._take_pool(base_seed)
        try:
            if isinstance(self.dataset, IterableDataset):
                yield from self._iterable_batches(pool)
            else:
                yield from self._map_batches(pool)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def _map_batches(self, pool):
        """Batches in sampler order; workers get index lists round-robin (Note [DataLoader
        workers])."""
        tasks = iter(self._index_sampler)
        sent, results, next_key = 0, {}, 0

        def send_next():
            nonlocal sent
            indices = next(tasks, None)
            if indices is None:
                return
            pool.send(sent % pool.n, sent, indices)
            sent += 1
        for _ in range(self.prefetch_factor * pool.n):
            send_next()
        while next_key < sent:
            while next_key not in results:
                key, _, data = pool.get()
                results[key] = data
            yield results.pop(next_key)
            next_key += 1
            send_next()

    def _iterable_batches(self, pool):
        """One batch from each worker in turn until every worker's stream is done."""
        buffered = {w: [] for w in range(pool.n)}
        for w in range(pool.n):
            for _ in range(self.prefetch_factor):
                pool.send(w, w)
        active = list(range(pool.n))
        while active:
            for w in list(active):
                while not buffered[w]:
                    key, ok, data = pool.get()
                    buffered[key].append((ok, data))
                ok, data = buffered[w].pop(0)
                if ok == _DONE:
                    active.remove(w)
                    continue
                pool.send(w, w)
                yield data

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()
