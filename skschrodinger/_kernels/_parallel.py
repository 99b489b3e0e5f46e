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
``numba.set_num_threads`` does not apply: no kernel is a numba parallel
function.
"""

from concurrent.futures import Future, wait
from contextlib import contextmanager
from contextvars import ContextVar
import itertools
import os
import queue
import threading

import numba

_requested = ContextVar("skschrodinger_kernel_threads", default=None)
_pool = {"tasks": queue.SimpleQueue(), "workers": [], "lock": threading.Lock()}
BLOCKS_PER_TASK_TARGET = 4
"""Each thread takes about this many turns, so a slow thread delays the call little."""
WORK_PER_THREAD = 200_000
"""Least work (about one multiply-add each) worth handing to another thread: handing over
costs tens of microseconds, so small calls (minibatches, small flows) run in the caller."""


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


def _serve(tasks):
    while True:
        function, future = tasks.get()
        try:
            function()
        except BaseException as error:  # handed to the caller, which re-raises it
            future.set_exception(error)
        else:
            future.set_result(None)


def _submit(function, workers):
    """Run ``function`` on the pool, which is grown to at least ``workers`` threads.

    The threads are daemons that live as long as the process: a pool is never
    shut down (so no call can find it shut, after the main thread ended or
    while another call grows it) and only grows, under a lock.
    """
    future = Future()
    with _pool["lock"]:
        while len(_pool["workers"]) < workers:
            thread = threading.Thread(target=_serve, args=(_pool["tasks"],), daemon=True,
                                      name=f"skschrodinger-kernel-{len(_pool['workers'])}")
            thread.start()
            _pool["workers"].append(thread)
        _pool["tasks"].put((function, future))
    return future


def _forget_pool():
    # The threads do not survive fork; neither may a lock held by one of them.
    _pool.update(tasks=queue.SimpleQueue(), workers=[], lock=threading.Lock())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_blocks(kernel, n_blocks, *args, work):
    """Call ``kernel(first, last, *args)`` on ranges covering ``[0, n_blocks)``, in parallel.

    ``work`` estimates the whole call's cost in multiply-adds: each thread gets
    at least ``WORK_PER_THREAD`` of it. If a call raises, the other threads stop
    taking blocks, and the exception is raised here once every thread has
    stopped.
    """
    threads = min(current_threads(), n_blocks, max(1, int(work // WORK_PER_THREAD)))
    if threads <= 1:
        kernel(0, n_blocks, *args)
        return
    step = max(1, n_blocks // (threads * BLOCKS_PER_TASK_TARGET))
    turns = itertools.count()  # next() on a count is atomic in CPython
    failed = threading.Event()

    def work():
        try:
            while not failed.is_set():
                first = next(turns) * step
                if first >= n_blocks:
                    return
                kernel(first, min(first + step, n_blocks), *args)
        except BaseException:
            failed.set()
            raise

    futures = [_submit(work, threads - 1) for _ in range(threads - 1)]
    try:
        work()
    finally:
        wait(futures)
    for future in futures:
        future.result()  # re-raises a worker's exception
