"""One BLAS thread inside the numba kernels, without rescanning the loaded libraries.

The kernels run on several threads and call BLAS inside each tile, so BLAS must
run single-threaded there (two nested thread pools oversubscribe the cores).
``threadpoolctl.threadpool_limits`` finds the BLAS libraries by scanning the
process's shared objects at every call, about 4 ms here: more than a Sinkhorn
step of a small problem, and a third of the time of an ``IteratedBridgeFlow``
fit with its hundreds of steps. One :class:`threadpoolctl.ThreadpoolController`,
built on first use (after numpy has loaded its BLAS), makes the limit cheap.

BLAS's thread count is process-wide, so the limit is too: it is counted, not
nested. The first of any number of overlapping blocks (in any threads) sets one
thread and the last one out restores the original count. Nested threadpoolctl
contexts instead restore what they saw on entry, so two overlapping in two
threads (A in, B in, A out, B out) left BLAS on one thread for good.
threadpoolctl (3.6 and later) also lets only one "controlling" thread change
OpenBLAS's shared pool and silently ignores the others; the controlling thread
is released after each change here, so the last block out can restore the count
whichever thread it runs in.
"""

from contextlib import contextmanager
import os
import threading

import threadpoolctl
from threadpoolctl import ThreadpoolController

_state = {"controller": None, "limiter": None, "depth": 0, "lock": threading.Lock()}


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread for the block (process-wide, counted across threads)."""
    with _state["lock"]:
        if _state["depth"] == 0:
            if _state["controller"] is None:
                _state["controller"] = ThreadpoolController()
            _state["limiter"] = _state["controller"].limit(limits=1, user_api="blas")
            _release_controlling_thread()
        _state["depth"] += 1
    try:
        yield
    finally:
        with _state["lock"]:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None
                _release_controlling_thread()


def _release_controlling_thread():
    """Let the next change of OpenBLAS's threads come from any thread (threadpoolctl >= 3.6)."""
    openblas = getattr(threadpoolctl, "OpenBLASController", None)
    if hasattr(openblas, "clear_controlling_thread"):
        openblas.clear_controlling_thread(force=True)


def _after_fork():
    # Only the forking thread survives: no block is open in the child.
    _state.update(limiter=None, depth=0, lock=threading.Lock())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
