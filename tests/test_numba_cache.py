"""numba's on-disk cache across processes: no order of first compilation can crash.

A cached numba function that calls a parallel (``prange``) function keeps its
own copy of the callee's generated gufunc; a later process could load a caller
whose copy does not match the callee's cache record, and segfault (it did:
``sinkhorn`` in one process, then ``sinkhorn_symmetric`` twice). One pytest
process hides this, so every test here runs child interpreters, each with the
same fresh ``NUMBA_CACHE_DIR``, in a chosen order.

The design that makes it impossible is checked statically too: no kernel is a
numba parallel function (the kernels are serial, release the GIL, and are run
on row blocks by a thread pool), and no kernel calls a jitted function of
another module (numba does not invalidate a cached caller when a callee in
another file changes).
"""

import importlib
import inspect
import os
from pathlib import Path
import pkgutil
import random
import subprocess
import sys

from numba.core.registry import CPUDispatcher
import pytest

import skschrodinger._kernels as kernels_package

ENTRY_SCRIPT = Path(__file__).with_name("_entry_points.py")
sys.path.insert(0, str(ENTRY_SCRIPT.parent))
from _entry_points import ENTRY_POINTS  # noqa: E402

NAMES = sorted(ENTRY_POINTS)
ORDERS = {
    # The order that crashed: the two-sample solver, then the symmetric one twice.
    "reported": ["sinkhorn", "sinkhorn_symmetric", "sinkhorn_symmetric"],
    "forward": NAMES,
    "reverse": NAMES[::-1],
    **{f"shuffled-{seed}": random.Random(seed).sample(NAMES, len(NAMES)) for seed in (1, 2)},
}


def run_entry(names, cache_dir):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, str(ENTRY_SCRIPT), *names], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_any_order_of_first_compilation_across_processes(order, tmp_path):
    """Each step its own process on one cold cache, then every entry again from the warm one."""
    steps = ORDERS[order] + NAMES
    for step, name in enumerate(steps):
        done = run_entry([name], tmp_path)
        assert done.returncode == 0, (
            f"{order}: step {step} ({name}) exited {done.returncode}\n{done.stderr[-3000:]}")


def _kernel_dispatchers():
    for info in pkgutil.iter_modules(kernels_package.__path__):
        module = importlib.import_module(f"{kernels_package.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and inspect.getmodule(value.py_func) is module:
                yield module, name, value


def test_no_kernel_is_a_numba_parallel_function():
    found = list(_kernel_dispatchers())
    assert len(found) >= 12
    for module, name, dispatcher in found:
        assert not dispatcher.targetoptions.get("parallel"), f"{module.__name__}.{name}"
        assert dispatcher.targetoptions.get("nogil"), f"{module.__name__}.{name} holds the GIL"


def test_kernels_call_jitted_functions_of_their_own_module_only():
    for module, name, dispatcher in _kernel_dispatchers():
        code = dispatcher.py_func.__code__
        for referenced in code.co_names:
            value = dispatcher.py_func.__globals__.get(referenced)
            if isinstance(value, CPUDispatcher):
                assert inspect.getmodule(value.py_func) is module, (
                    f"{module.__name__}.{name} calls {value.py_func.__module__}.{referenced}")
