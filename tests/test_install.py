"""The package as users install and run it, each case in a child interpreter.

One pytest process has already imported everything and found a writable
cache, so these run ``python -c`` children with a controlled environment:
what ``import skschrodinger`` loads, a read-only install with no writable
home directory, the demo without matplotlib, and the memory of predictions
on a million points.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap

import pytest

import skschrodinger

PACKAGE = Path(skschrodinger.__file__).resolve().parent
FIT_BOTH = textwrap.dedent("""
    import numpy as np
    from skschrodinger import LightSBTransport, SinkhornBridge
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 1])
    y = np.repeat([0, 1], 30)
    LightSBTransport(n_components=2, max_iter=50, random_state=0).fit(X, y).sample(X[:5])
    SinkhornBridge().fit(X, y).transform(X[:5])
    print("fitted")
""")


def run_python(code, env=None, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def warning_lines(stderr):
    return [line for line in stderr.splitlines() if "Warning" in line]


def test_import_loads_neither_pot_nor_torch_nor_jax():
    """POT imports torch and jax where they are installed: 80 s and 1 GiB for an import."""
    code = textwrap.dedent("""
        import sys
        import skschrodinger, skschrodinger.metrics, skschrodinger.datasets
        import skschrodinger.entropic_ot, skschrodinger.model_selection, skschrodinger._kernels
        print(sorted(m for m in ("ot", "torch", "jax", "matplotlib") if m in sys.modules))
        skschrodinger.metrics.wasserstein2_distance([[0.0]], [[1.0]])  # uses POT: now loaded
        print("ot" in sys.modules)
    """)
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True"]


# ----------------------------------------------------------- read-only install
def _read_only_runner(tmp_path, writable_temporary_folders=True):
    """A copy of the package in a read-only folder, and how to run Python against it.

    Root ignores file permissions, so as root the folder is made read-only by a
    read-only bind mount in a private user and mount namespace (``unshare``),
    and so are /tmp and /var/tmp if ``writable_temporary_folders`` is false;
    otherwise by ``chmod``, and the child's ``tempfile.tempdir`` points into
    the read-only folder instead. HOME points into the read-only folder, so
    numba's user-wide cache is unavailable too, and NUMBA_CACHE_DIR is unset.
    """
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "skschrodinger",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    (site / "home").mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(PYTHONPATH=str(site), HOME=str(site / "home" / "nobody"))
    if os.geteuid() != 0:
        for path in [site, *site.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        # /tmp stays writable for us: point tempfile at the read-only folder instead
        prefix = ("" if writable_temporary_folders else
                  f"import tempfile; tempfile.tempdir = {str(site / 'home')!r}\n")
        return site, lambda code, tmpdir: run_python(prefix + code,
                                                     {**env, "TMPDIR": str(tmpdir)}, cwd=site)
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-r", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without user namespaces: cannot make a folder read-only")
    folders = [site] + ([] if writable_temporary_folders else
                        [Path(p) for p in ("/tmp", "/var/tmp") if Path(p).is_dir()])
    mounts = " && ".join(f'mount --bind "{f}" "{f}" && mount -o remount,bind,ro "{f}"'
                         for f in folders)

    def run(code, tmpdir):
        script = f'{mounts} && cd "{site}" && exec "{sys.executable}" -c "$0"'
        return subprocess.run(["unshare", "-r", "-m", "sh", "-c", script, code],
                              capture_output=True, text=True, timeout=600,
                              env={**env, "TMPDIR": str(tmpdir)})

    return site, run


def test_read_only_install_caches_in_a_private_temporary_folder(tmp_path):
    site, run = _read_only_runner(tmp_path)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    probe = run("import pathlib, skschrodinger; p = pathlib.Path(skschrodinger.__file__).parent; "
                "(p / 'probe').write_text('x')", tmpdir)
    assert probe.returncode != 0 and ("Read-only" in probe.stderr
                                      or "Permission" in probe.stderr), probe.stderr
    for attempt in ("cold", "warm"):
        done = run(FIT_BOTH, tmpdir)
        assert done.returncode == 0, f"{attempt}: {done.stderr[-3000:]}"
        assert "fitted" in done.stdout and warning_lines(done.stderr) == [], done.stderr
    cache = [folder for folder in tmpdir.iterdir() if folder.name.startswith("skschrodinger-numba")]
    assert len(cache) == 1 and any(cache[0].rglob("*.nbi"))
    assert not any(site.rglob("*.nbi"))


def test_read_only_install_with_no_writable_folder_at_all_warns_once(tmp_path):
    """No writable package folder, home, TMPDIR, /tmp or /var/tmp: compile uncached."""
    _, run = _read_only_runner(tmp_path, writable_temporary_folders=False)
    done = run(FIT_BOTH, tmp_path / "site" / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fitted" in done.stdout
    warnings = warning_lines(done.stderr)
    assert len(warnings) == 1 and "NUMBA_CACHE_DIR" in warnings[0], done.stderr


# ------------------------------------------------------------------- the demo
def test_demo_without_matplotlib_prints_results_and_how_to_get_the_plot(tmp_path):
    code = textwrap.dedent("""
        import sys
        class NoMatplotlib:
            def find_spec(self, name, path=None, target=None):
                if name == "matplotlib" or name.startswith("matplotlib."):
                    raise ImportError("No module named 'matplotlib'")
        sys.meta_path.insert(0, NoMatplotlib())
        from skschrodinger.__main__ import main
        main(["demo"])
        main(["demo", "--synthetic"])
    """)
    done = run_python(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LightSBTransport, predicted day 3" in done.stdout  # the table, printed anyway
    assert "max |slope - exact|" in done.stdout
    assert done.stdout.count('pip install "skschrodinger[examples]"') == 2
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())
