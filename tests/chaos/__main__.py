"""`make chaos SEED=… CRASHES=…`: one long chaos run; the report goes to chaos/results/.

Exit status 0 with no violations and convergence, 1 otherwise; the same seed reruns the
same schedule of decisions (see tests/chaos/run.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from tests.chaos.run import ChaosOptions, run_chaos, summary, write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crashes", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=6)
    parser.add_argument("--report", type=Path, default=Path("chaos/results/latest.json"))
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the roles' logs go; always kept"
    )
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="chaos-"))
    options = ChaosOptions(
        args.seed,
        args.crashes,
        workdir,
        customers=args.customers,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    result = run_chaos(options)
    write_report(result.report, args.report)
    print(summary(result.report))
    for violation in result.report["violations"]:
        print(f"  violation {violation['invariant']} {violation['subject']}: {violation['detail']}")
    if not result.converged:
        print(f"  did not converge: {result.report['still_moving']}")
    print(f"report: {args.report}")
    clean = result.converged and result.violations == 0
    if clean and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"the roles' logs: {workdir}/logs")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
