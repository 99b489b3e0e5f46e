"""The embedded MSCI time course and the demo that predicts its unmeasured day.

Oracles: the subsample's recipe (its data README), re-run on the full arrays
when they are present; the demo's table against the baselines it prints,
with a margin from the energy distance's own sampling noise on these cells.
"""

from pathlib import Path
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from skschrodinger.datasets import load_msci
from skschrodinger.metrics import half_energy_distance


def test_embedded_time_course_is_what_the_docs_say():
    X, y = load_msci()
    assert X.shape == (6000, 50) and X.dtype == np.float64
    assert np.array_equal(np.unique(y, return_counts=True)[1], [1500] * 4)
    assert np.array_equal(np.unique(y), [2.0, 3.0, 4.0, 7.0])
    # The shipped file, pinned: a changed subsample must be a deliberate change.
    np.testing.assert_allclose(X[0, :3], [-40.83424377, -21.90561676, 17.52233887], rtol=1e-7)
    assert X.sum() == pytest.approx(-7858.524488054216, rel=1e-9)
    X3, y3 = load_msci(days=[7, 3])
    assert np.array_equal(y3[:1500], np.full(1500, 7.0))
    np.testing.assert_array_equal(X3[1500:], X[y == 3])


def test_embedded_subsample_is_its_recipe_applied_to_the_full_arrays(msci_dir):
    rng = np.random.RandomState(0)
    X, y = load_msci()
    for day in (2, 3, 4, 7):
        cells = np.load(msci_dir / f"full_cite_pcas_50_day_{day}.npy")
        rows = np.sort(rng.choice(len(cells), 1500, replace=False))
        np.testing.assert_array_equal(X[y == day], cells[rows].astype(np.float32))


def test_embedded_loader_refuses_what_it_does_not_hold(tmp_path):
    with pytest.raises(ValueError, match="50 principal components"):
        load_msci(dim=100)
    with pytest.raises(ValueError, match="days"):
        load_msci(days=(2, 5))
    with pytest.raises(FileNotFoundError):
        load_msci(tmp_path)


@pytest.mark.parametrize("days", [(), (2, 2), (3, 7, 3), (2.5,), ("a",), [[2, 3]]])
def test_days_must_be_distinct_whole_numbers(days, tmp_path):
    """No days, a day twice (its cells would be stacked twice), a fraction or a name."""
    for path in (None, tmp_path):
        with pytest.raises(ValueError, match="days"):
            load_msci(path, days=days)


def test_the_demo_runs_from_the_command_line_and_writes_its_picture(tmp_path):
    done = subprocess.run([sys.executable, "-m", "skschrodinger", "demo", "--output",
                           str(tmp_path / "demo.png")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "predicted day 3" in done.stdout and "day-2 cells as they are" in done.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the test extra does not install it: the table and the hint
        assert "no plot: matplotlib is not installed" in done.stdout
        assert not (tmp_path / "demo.png").exists()
    else:
        assert (tmp_path / "demo.png").stat().st_size > 10_000
    helped = subprocess.run([sys.executable, "-m", "skschrodinger", "demo", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert all(option in helped.stdout for option in ("--output", "--estimator", "--seed",
                                                      "--synthetic"))


MACHINE_SPREAD = 0.0025
"""How far the demo's distances move with the machine's floating point, measured.

One AMD EPYC (Zen 4) ran the demo under six settings that change the rounding:
OpenBLAS's kernels for SkylakeX (its default there), Haswell, Sandybridge and
Katmai (``OPENBLAS_CORETYPE``); numba's code for znver4, haswell, sandybridge
and a generic CPU (``NUMBA_CPU_NAME``); one or two threads. LightSB's distance
ran from 2.4521 to 2.4546 (its fit amplifies rounding); SinkhornBridge's and
the baselines did not move (to 1e-15 in the two settings whose full values
were kept, to the three printed decimals in the others). With the default of
three annealed paths per LightSB fit, four of these settings (OpenBLAS
default, Haswell and Sandybridge; numba generic) printed 2.448 to 2.449."""
README_TOLERANCE = 2 * MACHINE_SPREAD + 0.0005
"""Twice the measured spread, for machines unlike those, plus the README's rounding to three
decimals: 0.0055. A difference of one in the printed last digit passes; a change of the
method moves a distance by its standard error (about 0.12, below), twenty times more."""


def readme_demo_table():
    """The demo's chosen-parameters line and {row name: distance} as the README shows them."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    chosen = re.search(r"^Chosen by .*$", text, flags=re.M).group(0)
    rows = dict(re.findall(r"^  (\S.*?\S)\s{2,}(\d+\.\d{3})\s", text, flags=re.M))
    return chosen, {name: float(distance) for name, distance in rows.items()}


def test_the_predicted_day_beats_both_baselines_without_matplotlib(monkeypatch, capsys,
                                                                  tmp_path):
    """Both bridges predict day 3 closer than the day-2 and day-4 cells themselves, by more
    than four standard errors of the distance. The standard error is measured on these
    cells: the spread of the half energy distance between the real day 3 and random halves of
    the day-2 cells (0.17), divided by sqrt(2) for samples twice as large (the U-statistic's
    variance falls as 1 / n). The README's table is this one, to ``README_TOLERANCE``."""
    from skschrodinger.__main__ import demo

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    result = demo(str(tmp_path / "none.png"))
    printed = capsys.readouterr().out
    assert "no plot: matplotlib is not installed" in printed
    assert not Path(tmp_path / "none.png").exists()
    distances = {name.split(",")[0].split(" ")[0]: distance
                 for name, distance, _ in result["rows"]}
    X, y = load_msci()
    rng = np.random.RandomState(0)
    halves = [half_energy_distance(X[y == 2][rng.choice(1500, 750, replace=False)], X[y == 3],
                                   unbiased=True) for _ in range(8)]
    standard_error = np.std(halves, ddof=1) / np.sqrt(2)
    baseline = min(distances["day-2"], distances["day-4"])
    for model in ("LightSBTransport", "SinkhornBridge"):
        assert distances[model] < baseline - 4 * standard_error, (distances, standard_error)
    if (Path(__file__).resolve().parents[1] / "README.md").is_file():  # it shows this table
        chosen, shown = readme_demo_table()
        assert chosen in printed.splitlines()  # the same epsilon and K, exactly
        assert set(shown) == {name for name, _, _ in result["rows"]}
        for name, distance, _ in result["rows"]:
            assert abs(shown[name] - distance) <= README_TOLERANCE, (name, shown[name], distance)


@pytest.mark.parametrize("options, named", [
    (["--output", ""], "--output"),
    (["--output", "{tmp}/no such folder/demo.png"], "--output"),
    (["--output", "{tmp}/demo.pdf"], "--output"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "1.5"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
    (["--synthetic", "--output", "{tmp}/no such folder/demo.png"], "--output"),
])
def test_demo_options_are_checked_before_any_work(options, named, tmp_path, monkeypatch,
                                                  capsys):
    """An argparse error (exit status 2, naming the option) before the data are loaded, not a
    traceback after the whole 30-second run."""
    from skschrodinger.__main__ import main
    import skschrodinger.datasets

    def no_work(*args, **kwargs):
        raise AssertionError("the demo started working before checking its options")

    monkeypatch.setattr(skschrodinger.datasets, "load_msci", no_work)
    monkeypatch.setattr(skschrodinger.datasets, "make_gaussian_bridge", no_work)
    with pytest.raises(SystemExit) as exited:
        main(["demo", *[option.format(tmp=tmp_path) for option in options]])
    assert exited.value.code == 2
    assert f"argument {named}:" in capsys.readouterr().err


def test_a_bad_option_is_a_usage_error_from_the_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "skschrodinger", "demo", "--seed", "-1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "argument --seed: the seed must be an integer from 0" in done.stderr
    assert done.stdout == "" and not list(tmp_path.iterdir())


def test_the_picture_goes_where_output_says_and_that_path_is_printed(tmp_path, monkeypatch):
    """A folder gets the default file name inside it, not folder.png; a name without a
    suffix gets .png (as matplotlib adds it), and the printed path is the file written."""
    from skschrodinger.__main__ import PICTURE, picture_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pictures").mkdir()
    assert picture_path("pictures") == tmp_path / "pictures" / PICTURE
    assert picture_path("result") == tmp_path / "result.png"
    assert picture_path(tmp_path / "a.PNG") == tmp_path / "a.PNG"
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the test extra does not install it: nothing is written
        return
    done = subprocess.run([sys.executable, "-m", "skschrodinger", "demo", "--synthetic",
                           "--output", "pictures"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    written = tmp_path / "pictures" / PICTURE
    assert f"written to {written}" in done.stdout and written.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures"]


def test_synthetic_self_test_still_runs(tmp_path, capsys):
    from skschrodinger.__main__ import main

    main(["demo", "--synthetic", "--output", str(tmp_path / "gauss.png")])
    assert "Gaussian bridge with known answer" in capsys.readouterr().out


@pytest.mark.parametrize("start, end, evaluated", [(2, 4, 3), (3, 7, 4)])
def test_default_sinkhorn_converges_at_the_papers_epsilon_on_the_embedded_cells(start, end,
                                                                                 evaluated):
    """At epsilon = 0.1 on the std-scaled cells (the LightSB paper's setups) Sinkhorn needs about
    1 100-1 200 iterations (1 500-1 700 at 100-D): the old default cap, 1 000, left every such
    fit unconverged."""
    from skschrodinger import SinkhornBridge

    X, y = load_msci()
    scale = X[np.isin(y, [start, end, evaluated])].std(axis=0).mean()
    pair = np.isin(y, [start, end])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SinkhornBridge(epsilon=0.1).fit(X[pair] / scale, y[pair])
    assert model.converged_ and np.max(model.marginal_errors_) < 1e-6
