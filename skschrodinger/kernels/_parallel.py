"""Running a serial kernel on blocks of rows in several threads.

Every kernel takes a range of *blocks* ``[first, last)`` as its first two
arguments and writes the results of those blocks into output arrays that the
caller allocated (disjoint slices, so threads never share a write). The blocks
are fixed by the problem size alone, and each is computed by the same serial
code whatever thread runs it, so results do not depend on the number of
threads -- bit for bit, reductions included (their per-block partial results
are summed in block order by the caller).

The threads come from one pool shared by the process and are handed blocks
dynamically (a loaded core simply takes fewer). The calling thread works too,
so ``threads=1`` never touches the pool. The pool is rebuilt after ``fork``
(its threads do not survive it), so kernels work in forked workers
(multiprocessing, joblib's multiprocessing backend) as in the parent.

How many threads: :func:`kernel_threads` sets it for a block of code (the
estimators' ``n_jobs``); otherwise numba's own setting, ``NUMBA_NUM_THREADS``
(all cores, or what joblib's process workers were given).
"""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
import itertools
import os
import threading

import numba

_requested = ContextVar("skschrodinger_kernel_threads", default=None)
_pool = {"executor": None, "size": 0}
_pool_lock = threading.Lock()
BLOCKS_PER_TASK_TARGET = 4
"""Each thread takes about this many turns, so a slow thread delays the call little."""


def available_cores():
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_threads(n_jobs):
    """Threads for ``n_jobs`` (joblib's convention): None (numba's setting), -1 (all cores), k.

    ``n_jobs < 0`` means all cores but ``-n_jobs - 1``; 0 is an error.
    """
    if n_jobs is None:
        return max(1, min(numba.config.NUMBA_NUM_THREADS, available_cores()))
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a positive number.")
    if n_jobs < 0:
        return max(1, available_cores() + 1 + n_jobs)
    return n_jobs


@contextmanager
def kernel_threads(n_jobs):
    """Run the kernels called inside the block on ``resolve_threads(n_jobs)`` threads.

    ``n_jobs=None`` keeps the setting of an enclosing block (or the default).
    """
    if n_jobs is None:
        yield
        return
    token = _requested.set(resolve_threads(n_jobs))
    try:
        yield
    finally:
        _requested.reset(token)


def current_threads():
    """Threads the kernels use here and now."""
    requested = _requested.get()
    return resolve_threads(None) if requested is None else requested


def _executor(workers):
    with _pool_lock:
        if _pool["size"] < workers:
            previous = _pool["executor"]
            _pool["executor"] = ThreadPoolExecutor(max_workers=workers,
                                                   thread_name_prefix="skschrodinger-kernel")
            _pool["size"] = workers
            if previous is not None:
                previous.shutdown(wait=False)
        return _pool["executor"]


def _forget_pool():
    _pool["executor"], _pool["size"] = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_blocks(kernel, n_blocks, *args):
    """Call ``kernel(first, last, *args)`` on ranges covering ``[0, n_blocks)``, in parallel."""
    threads = min(current_threads(), n_blocks)
    if threads <= 1:
        kernel(0, n_blocks, *args)
        return
    step = max(1, n_blocks // (threads * BLOCKS_PER_TASK_TARGET))
    turns = itertools.count()  # next() on a count is atomic in CPython

    def work():
        while True:
            first = next(turns) * step
            if first >= n_blocks:
                return
            kernel(first, min(first + step, n_blocks), *args)

    futures = [_executor(threads - 1).submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        for future in futures:
            future.result()
