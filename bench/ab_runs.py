"""Two versions of zhclean on the same corpus, run alternately: speed ratio and same output.

Usage::

    git worktree add ../zhclean-before COMMIT          # the other version's source tree
    python bench/ab_runs.py CORPUS --before ../zhclean-before --repeats 3

Runs ``python -m flows.cli run CORPUS -o OUT --quiet`` from each source tree
(``--after`` defaults to this tree), alternating before/after ``--repeats`` times after
one untimed warm-up each, with the same interpreter and Prefect home.  Both
trees import their own ``flows`` and ``transforms`` (the working directory
comes first on ``sys.path``), so they need the same dependencies.  Reports
the median wall time of each, their ratio, the median of each stage's
seconds from ``stats.json`` (the stage names each version used), and whether
the two made the same dataset (``tests.output_digest`` over the columns both
have).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
AFTER = BENCH_DIR.parent
sys.path.insert(0, str(AFTER))

from tests.output_digest import differences, digest  # noqa: E402

WORK = BENCH_DIR / "work" / "ab"
PREFECT_HOME = BENCH_DIR / "work" / "prefect-home"


def run_once(tree: Path, corpus: Path, output: Path) -> dict[str, Any]:
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "flows.cli", "run", str(corpus), "-o", str(output), "-q"]
    env = {"PREFECT_HOME": str(PREFECT_HOME), "PATH": str(Path(sys.executable).parent)}
    started = time.perf_counter()
    subprocess.run(command, cwd=tree, env={**_base_env(), **env}, check=True)
    wall = time.perf_counter() - started
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    stages = {name: counts["seconds"] for name, counts in stats["stages"].items()}
    return {"wall": wall, "flow": stats["seconds"], "stages": stages}


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = list(dict.fromkeys(n for r in runs for n in r["stages"]))
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "flow": statistics.median(r["flow"] for r in runs),
        "stages": {n: statistics.median(r["stages"].get(n, 0.0) for r in runs) for n in names},
        "walls": [round(r["wall"], 2) for r in runs],
    }


def same_output(before: Path, after: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    shared = sorted(
        set(pq.read_schema(next((before / "data").glob("*.parquet"))).names)
        & set(pq.read_schema(next((after / "data").glob("*.parquet"))).names)
    )
    diff = differences(digest(before, shared), digest(after, shared))
    return {p: {k: len(v) for k, v in d.items()} for p, d in diff.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--before", type=Path, required=True, help="the other source tree")
    parser.add_argument("--after", type=Path, default=AFTER, help="default: this tree")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    outputs = {name: WORK / f"out-{name}" for name in trees}
    for name, tree in trees.items():  # warm-up: imports, compiled kernels, Prefect's database
        run_once(tree, args.corpus.resolve(), outputs[name])
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(args.repeats):
        for name, tree in trees.items():
            runs[name].append(run_once(tree, args.corpus.resolve(), outputs[name]))
    result = {name: medians(r) for name, r in runs.items()}
    result["ratio_before_over_after"] = result["before"]["wall"] / result["after"]["wall"]
    result["differences"] = same_output(outputs["before"], outputs["after"])
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
