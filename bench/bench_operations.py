"""Operations benchmark: worker scaling, memory per worker, and incremental runs.

Usage::

    python bench/bench_operations.py --scaling-docs 100000 --incremental-new 2000

1. **Scaling**: ``zhclean run`` (the CLI, every stage) over the first
   ``--scaling-docs`` documents of ``bench/work/corpus-200k-s1`` (whole files
   of 10,000 documents, made by ``bench/make_corpus.py``), with ``--workers 1``
   and then ``--workers 2``, ``--repeats`` times each, alternating.  Reports
   wall time, documents per second, documents per second per worker, the
   1 -> 2 speed-up (the ratio of the two medians, and per repeat pair), and the
   peak resident memory of each worker process (polled every 0.2 s from
   /proc: the spawned ``multiprocessing`` children of the CLI).
2. **Incremental**: a full run over the whole 200,000-document corpus into a
   fresh output, then a file of ``--incremental-new`` new documents (taken from
   another corpus, ``bench/work/unseen-seed2-20000``, plus 10% copies of
   documents already in the dataset, so that the dedup against the dataset
   does real work) is added to the input folder and the same command runs
   again.  Reports both wall times and their ratio, and the incremental run's
   counts (files new/unchanged, documents kept, duplicates of published ones).

3. **Ceiling**: what two cores of this machine give to two copies of the same
   shard job.  ``prepare_shard`` (extract, HTML strip, normalize, filter,
   fingerprint) over one corpus file, timed alone in one process, then in two
   processes at once (each its own file), ``--repeats`` times.  Two jobs at
   once never finish in the time of one when the cores share caches and
   memory bandwidth (or are hyperthreads of one core on the host): the
   ceiling, 2 x alone / together, bounds any 1 -> 2 worker speed-up here.

Results go to ``bench/work/results/operations.json``; paste the printed
Markdown into bench/RESULTS.md.  Prefect runs with
``PREFECT_HOME=bench/work/prefect-home``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(c) for c in handle.read().split()]
    except OSError:
        return []


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class WorkerMemory(threading.Thread):
    """Peak RSS of each worker process of a running CLI, and of the forkserver that forks them.

    The CLI's own multiprocessing children are its forkserver and resource
    tracker; the workers are the forkserver's children.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peaks, self.done = pid, {}, threading.Event()
        self.forkserver_peak = 0.0

    def run(self) -> None:
        while not self.done.is_set():
            for child in _children(self.pid):
                if "multiprocessing.forkserver" not in _cmdline(child):
                    continue
                self.forkserver_peak = max(self.forkserver_peak, _rss_mib(child))
                for worker in _children(child):
                    self.peaks[worker] = max(self.peaks.get(worker, 0.0), _rss_mib(worker))
            time.sleep(0.2)


def zhclean_run(zhclean: str, inputs: list[Path], output: Path, workers: int) -> dict:
    env = {**os.environ, "PREFECT_HOME": str(WORK / "prefect-home")}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [zhclean, "run", *map(str, inputs), "-o", str(output), "--workers", str(workers), "-q"],
        env=env,
        cwd=ROOT,
    )
    memory = WorkerMemory(proc.pid)
    memory.start()
    status = proc.wait()
    wall = time.perf_counter() - started
    memory.done.set()
    memory.join()
    if status != 0:
        raise SystemExit(f"zhclean run exited with {status}")
    stats = json.loads((output / "stats.json").read_text())
    docs = stats["documents"]["extracted"]
    return {
        "workers": workers,
        "wall_seconds": round(wall, 2),
        "flow_seconds": stats["seconds"],
        "documents": docs,
        "docs_per_second": round(docs / wall, 1),
        "docs_per_second_per_worker": round(docs / wall / workers, 1),
        "worker_peak_rss_mib": sorted(round(v) for v in memory.peaks.values()),
        "forkserver_peak_rss_mib": round(memory.forkserver_peak),
        "stats": {k: stats[k] for k in ("mode", "inputs", "documents", "rejected_by_reason")},
        "load_average_after": os.getloadavg()[0],
    }


def scaling(args: argparse.Namespace, corpus: Path) -> dict:
    files = sorted((corpus / "data").glob("*.jsonl"))[: max(1, args.scaling_docs // 10_000)]
    out = WORK / "ops-scaling-out"
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for repeat in range(args.repeats):
        for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
            shutil.rmtree(out, ignore_errors=True)
            result = zhclean_run(args.zhclean, files, out, workers)
            print(f"  scaling repeat {repeat + 1}, {workers} worker(s): {result['wall_seconds']} s")
            runs[workers].append(result)
    shutil.rmtree(out, ignore_errors=True)
    median = {w: statistics.median(r["wall_seconds"] for r in runs[w]) for w in runs}
    return {
        "files": len(files),
        "runs": runs,
        "median_wall": median,
        "speedup_of_medians": round(median[1] / median[2], 3),
        "speedup_per_repeat": [
            round(a["wall_seconds"] / b["wall_seconds"], 3)
            for a, b in zip(runs[1], runs[2], strict=True)
        ],
    }


def new_documents(corpus: Path, extra_corpus: Path, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    fresh = []
    with next((extra_corpus / "data").glob("*.jsonl")).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            record["id"] = f"new-{record['id']}"
            fresh.append(record)
            if len(fresh) == count - count // 10:
                break
    with next((corpus / "data").glob("*.jsonl")).open(encoding="utf-8") as lines:
        existing = [json.loads(line) for _, line in zip(range(5000), lines, strict=False)]
    copies = [
        {**record, "id": f"copy-{record['id']}"} for record in rng.sample(existing, count // 10)
    ]
    return fresh + copies


def incremental(args: argparse.Namespace, corpus: Path) -> dict:
    inputs, out = WORK / "ops-incremental-in", WORK / "ops-incremental-out"
    shutil.rmtree(inputs, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    inputs.mkdir(parents=True)
    for path in sorted((corpus / "data").glob("*.jsonl")):
        os.link(path, inputs / path.name)  # same bytes, no copy
    full = zhclean_run(args.zhclean, [inputs], out, 2)
    print(f"  incremental: full run {full['wall_seconds']} s")
    added = new_documents(corpus, WORK / "unseen-seed2-20000", args.incremental_new, 7)
    with (inputs / "zz-new.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in added)
    more = zhclean_run(args.zhclean, [inputs], out, 2)
    print(f"  incremental: run after adding {len(added)} documents {more['wall_seconds']} s")
    shutil.rmtree(inputs, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "full": full,
        "incremental": more,
        "new_documents": len(added),
        "of_which_copies_of_published": args.incremental_new // 10,
        "wall_ratio_incremental_over_full": round(more["wall_seconds"] / full["wall_seconds"], 3),
    }


_SHARD_JOB = """
import sys, time, tempfile
from pathlib import Path
from transforms.config import PipelineConfig
from transforms.engine.inputs import discover_inputs, plan_shards
from transforms.engine.shard_jobs import prepare_shard, warm_up
warm_up()
path = Path(sys.argv[1])
config = PipelineConfig(inputs=[path])
[shard] = plan_shards(discover_inputs([path]).files, 1 << 40)
with tempfile.TemporaryDirectory() as work:
    started = time.perf_counter()
    prepare_shard(shard, Path(work), config)
    print(time.perf_counter() - started)
"""


def _shard_jobs(files: list[Path]) -> list[float]:
    """Seconds of ``prepare_shard`` over each file, all started at once, one process each."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SHARD_JOB, str(f)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for f in files
    ]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def ceiling(args: argparse.Namespace, corpus: Path) -> dict:
    files = sorted((corpus / "data").glob("*.jsonl"))[:2]
    alone, together = [], []
    for repeat in range(args.repeats):
        alone += [_shard_jobs([f])[0] for f in files]
        together.append(statistics.mean(_shard_jobs(files)))
        print(f"  ceiling repeat {repeat + 1}: alone {alone[-2:]}, together {together[-1]:.2f} s")
    ratio = 2 * statistics.median(alone) / statistics.median(together)
    return {
        "job": "prepare_shard over one 10,000-document file",
        "alone_seconds": alone,
        "together_seconds": together,
        "ceiling": round(ratio, 3),
    }


def markdown(results: dict) -> str:
    s, inc = results["scaling"], results["incremental"]
    lines = [
        f"- Command: `python bench/bench_operations.py {results['argv']}`",
        f"- Date: {results['date']}; machine: {results['machine']}",
    ]
    if "ceiling_run" in results:
        lines.append(
            f"- Ceiling: `python bench/bench_operations.py {results['ceiling_run']['argv']}`, "
            f"{results['ceiling_run']['date']}"
        )
    lines += [
        "",
        f"Scaling, {s['runs'][1][0]['documents']:,} documents ({s['files']} files), CLI wall time:",
        "",
        "| workers | wall s (median) | documents/s | documents/s per worker "
        "| peak RSS per worker (MiB) | peak RSS of their forkserver (MiB) |",
        "| ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for workers in (1, 2):
        runs = s["runs"][workers]
        wall = s["median_wall"][workers]
        docs = runs[0]["documents"]
        peaks = max((r["worker_peak_rss_mib"] for r in runs), key=lambda p: max(p, default=0))
        forkserver = max(r.get("forkserver_peak_rss_mib", 0) for r in runs)
        lines.append(
            f"| {workers} | {wall:.1f} | {docs / wall:,.0f} | {docs / wall / workers:,.0f} | "
            f"{', '.join(map(str, peaks)) or 'in-process'} | {forkserver or '-'} |"
        )
    lines += [
        "",
        f"Speed-up 1 -> 2 workers: {s['speedup_of_medians']} (ratio of medians); per repeat "
        f"pair: {', '.join(map(str, s['speedup_per_repeat']))}.",
    ]
    c = results.get("ceiling")
    if c:
        lines += [
            "",
            f"Ceiling of this machine for two shard jobs ({c['job']}): alone "
            f"{statistics.median(c['alone_seconds']):.2f} s (median), two at once "
            f"{statistics.median(c['together_seconds']):.2f} s each: 2 cores give "
            f"**{c['ceiling']}x** one core's throughput, so the 1 -> 2 worker speed-up reaches "
            f"{s['speedup_of_medians'] / c['ceiling']:.0%} of what two cores allow here.",
        ]
    lines += [
        "",
        f"Incremental: full run over {inc['full']['documents']:,} documents "
        f"{inc['full']['wall_seconds']} s; after adding one file of {inc['new_documents']:,} "
        f"documents ({inc['of_which_copies_of_published']} of them copies of published ones): "
        f"{inc['incremental']['wall_seconds']} s, ratio {inc['wall_ratio_incremental_over_full']}.",
        f"The incremental run's counts: inputs {json.dumps(inc['incremental']['stats']['inputs'])}; "
        f"documents {json.dumps(inc['incremental']['stats']['documents'])}; rejected "
        f"{json.dumps(inc['incremental']['stats']['rejected_by_reason'])}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=WORK / "corpus-200k-s1")
    parser.add_argument("--scaling-docs", type=int, default=100_000)
    parser.add_argument("--incremental-new", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--zhclean", default=shutil.which("zhclean") or "zhclean")
    parser.add_argument(
        "--ceiling-only",
        action="store_true",
        help="measure only the ceiling, added to the saved results of the last full run",
    )
    args = parser.parse_args()
    saved = WORK / "results" / "operations.json"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if args.ceiling_only:
        results = json.loads(saved.read_text())
        scaled = results["scaling"]
        for key in ("runs", "median_wall"):  # JSON made the worker counts strings
            scaled[key] = {int(workers): value for workers, value in scaled[key].items()}
        results["ceiling"] = ceiling(args, args.corpus)
        results["ceiling_run"] = {"argv": " ".join(sys.argv[1:]), "date": now}
    else:
        results = {
            "argv": " ".join(sys.argv[1:]),
            "date": now,
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, "
            f"Python {platform.python_version()}",
            "scaling": scaling(args, args.corpus),
            "ceiling": ceiling(args, args.corpus),
            "incremental": incremental(args, args.corpus),
        }
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(results, indent=1))
    print(markdown(results))


if __name__ == "__main__":
    main()
