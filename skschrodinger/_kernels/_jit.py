"""How every kernel is compiled: serial, GIL-free, cached on disk wherever that is possible.

``kernel`` is ``numba.njit(cache=True, nogil=True)``, with two rules that keep
numba's on-disk cache safe across processes:

* no kernel is a numba parallel function (``parallel=True``): a cached caller of
  a parallel function embeds a copy of its generated gufunc, which a later
  process may load against a mismatched cache record and crash. Parallelism
  comes from running a serial kernel on row blocks in a thread pool
  (:mod:`._parallel`), which the GIL-free kernels allow;
* a kernel calls jitted helpers of its own module only: numba invalidates a
  cached function when its own source file changes, not when a callee's does.

Where numba finds no cache directory -- a read-only install (no writable
``__pycache__`` beside the package) with no writable home directory and no
``NUMBA_CACHE_DIR`` -- ``njit(cache=True)`` raises at import. The kernels then
cache in a private directory under the system's temporary folder (created
with mode 0700 and used only if this user owns it and nobody else can write
to it); if there is none, they compile without a cache, with one warning.
"""

import os
from pathlib import Path
import stat
import tempfile
import warnings

import numba
from numba import njit

_NO_LOCATOR = "no locator available"
_fallback = {"directory": None, "warned": False}


def kernel(function=None, **options):
    """Decorator: ``numba.njit(cache=True, nogil=True, **options)`` with the cache fallbacks."""
    if function is None:
        return lambda f: kernel(f, **options)
    try:
        return njit(cache=True, nogil=True, **options)(function)
    except RuntimeError as error:
        if _NO_LOCATOR not in str(error):
            raise
    directory = _private_cache_directory()
    if directory is not None:
        previous = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = str(directory)  # read once, when the dispatcher is made
        try:
            return njit(cache=True, nogil=True, **options)(function)
        finally:
            numba.config.CACHE_DIR = previous
    if not _fallback["warned"]:
        _fallback["warned"] = True
        warnings.warn(
            "skschrodinger: numba can write its cache neither beside the package nor in your "
            "home directory, nor in a private temporary folder, so the kernels are compiled "
            "again in every process (a few seconds each); set NUMBA_CACHE_DIR to a writable "
            "directory to cache them.",
            UserWarning, stacklevel=2,
        )
    return njit(cache=False, nogil=True, **options)(function)


def _private_cache_directory():
    """``<tmp>/skschrodinger-numba-<uid>``, if it is (or can be made) this user's alone."""
    if _fallback["directory"] is not None:  # decided by an earlier kernel (False: none)
        return _fallback["directory"] or None
    _fallback["directory"] = False
    owner = os.getuid() if hasattr(os, "getuid") else None
    name = f"skschrodinger-numba-{'user' if owner is None else owner}"
    try:
        directory = Path(tempfile.gettempdir()) / name  # raises if no folder is writable
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
        private = (stat.S_ISDIR(info.st_mode) and not info.st_mode & 0o022
                   and (owner is None or info.st_uid == owner))
        if not private:
            return None
        tempfile.TemporaryFile(dir=directory).close()  # writable
    except OSError:
        return None
    _fallback["directory"] = directory
    return directory
