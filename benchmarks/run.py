"""Run the skschrodinger benchmark suites, print their tables and write markdown.

Usage (from the repository root)::

    python benchmarks/run.py                     # every suite
    python benchmarks/run.py --suite eot --quick # one suite, reduced sizes
    python benchmarks/run.py --output results.md

Suites:

* ``eot``  -- LightSB on the entropic OT benchmark grid (Gushchin et al. 2023
  construction, :func:`skschrodinger.datasets.make_eot_benchmark`):
  cBW2^2-UVP beside the exact sampler's noise floor, and fit time.
* ``msci`` -- the MSCI CITE-seq single-cell benchmark as the LightSB paper
  reports it (needs the arrays in ``../shared/data`` or ``--data``; skipped
  when absent): both setups (2 -> 4 predicting day 3, 3 -> 7 predicting day
  4), LightSB (L-BFGS and the published Adam recipe) and SinkhornBridge, half
  energy distance as V- and U-statistic beside the paper, and rows with
  epsilon and K chosen by LeaveOneSnapshotOut without the evaluated day.
* ``dsb`` -- DSBTransport beside LightSB and SinkhornBridge: coupling error
  on the Gaussian closed form, energy distance on the 2-D pairs, fit time.
* ``flows`` -- IteratedBridgeFlow on the paper's heat and Ornstein–Uhlenbeck
  experiments: exact W2 to the flow at t = 0..5, time per step vs the same
  scheme on POT's dense ``sinkhorn_log``.
* ``seeds`` -- how much LightSB's default fit depends on its seed: the
  worst of five seeds against the best on the EOT grid (d in {2, 16, 64}) and
  the MSCI setups, beside the single annealed path, and the fit-time ratio.
* ``sinkhorn`` -- the numba Sinkhorn vs POT's ``sinkhorn_log`` and kernel
  ``sinkhorn``, time to the same L1 marginal error; peak memory up to
  n = m = 50 000.

Each suite times its own reference in the same process; quote ratios.
"""

import argparse
from pathlib import Path
import platform
import sys
import time

import suite_dsb
import suite_eot
import suite_flows
import suite_msci
import suite_seeds
import suite_sinkhorn

SUITES = {"dsb": suite_dsb, "eot": suite_eot, "flows": suite_flows, "msci": suite_msci,
          "seeds": suite_seeds, "sinkhorn": suite_sinkhorn}
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=sorted(SUITES),
                        help="suite to run (repeatable); default: all")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, for a smoke run")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder of the single-cell arrays")
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).resolve().parent / "results.md",
                        help="markdown file to write")
    args = parser.parse_args(argv)

    import numba
    import numpy  # noqa: E401  (versions for the report)
    import ot
    import sklearn
    header = (f"# skschrodinger benchmark results\n\n{time.strftime('%Y-%m-%d')}, "
              f"Python {platform.python_version()}, numpy {numpy.__version__}, "
              f"scikit-learn {sklearn.__version__}, numba {numba.__version__}, "
              f"POT {ot.__version__}; {platform.machine()}, "
              f"{__import__('os').cpu_count()} CPUs{' (quick run)' if args.quick else ''}.\n")
    sections = [header]
    for name in args.suite or sorted(SUITES):
        print(f"\n=== suite {name} ===", flush=True)
        start = time.perf_counter()
        for table in SUITES[name].run(args):
            print("\n" + table.to_text(), flush=True)
            sections.append(table.to_markdown())
        print(f"(suite {name}: {time.perf_counter() - start:.0f} s)", flush=True)
    args.output.write_text("\n".join(sections))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    sys.exit(main())
