"""Whole-pipeline benchmark: the real ``zhclean run`` CLI on generated corpora.

Usage::

    python bench/bench_pipeline.py --sizes 20k            # 3 runs, median quoted
    python bench/bench_pipeline.py --sizes 200k,1m        # 1 run each
    python bench/bench_pipeline.py --report --results-md bench/RESULTS.md

For each size it

1. generates the corpus with ``bench/make_corpus.py`` (``--seed``) into
   ``bench/work/corpus-SIZE-sSEED/`` unless it is already there (the
   generation time is recorded, not counted in the pipeline's);
2. runs ``zhclean run CORPUS/data -o OUT`` as a subprocess, under
   ``/usr/bin/time -v`` when present, ``--repeats`` times (default: 3 below
   100,000 documents, else 1), each into an emptied ``OUT``;
3. measures per run:

   - **wall time** of the CLI process, start to exit, Prefect's temporary
     server start-up included (that is what a user waits for); also zhclean's
     own ``seconds`` from ``stats.json`` (the flow alone);
   - **documents per second** = documents extracted / wall time (and / flow
     seconds);
   - **peak memory**: ``/usr/bin/time``'s "Maximum resident set size" (the
     largest single process of the tree) and, by polling ``/proc`` every
     0.2 s, the peak of the **sum** of the resident set sizes of every process
     in the tree (the CLI, its workers and Prefect's server; shared pages are
     counted once per process, so this is an upper bound), with the processes
     at that moment and a one-sample-a-second timeline (in the JSON results);
   - **per stage**: ``stats.json`` ``stages.*.seconds`` (zhclean's own timing,
     summed over shards, so with 2 workers a stage's seconds can exceed its
     wall-clock share) and ``stages.*.input`` / seconds;
   - **dedup quality**: ``bench/score_dedup.py`` against the corpus's
     ``truth.parquet`` (precision, recall, F1, recall per kind, lost clusters);

4. writes everything to ``bench/work/results/pipeline-SIZE-sSEED.json``.
   With several runs the quoted figure is the median (wall time, flow
   seconds, per-stage seconds and peak memory each take their own median).

``--report`` renders all saved results as one Markdown section and, with
``--results-md``, puts it into that file between
``<!-- bench_pipeline:start -->`` and ``<!-- bench_pipeline:end -->``
(appended at the end the first time; later only that section is replaced, no
other section is touched).

Prefect runs with ``PREFECT_HOME=bench/work/prefect-home``; an untimed
warm-up run on ``data/sample`` first creates its database (the first run on a
fresh database costs 10-20 s more), unless ``--no-warmup``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
RESULTS_DIR = WORK_DIR / "results"
ARCHIVE_DIR = WORK_DIR / "results-archive"  # earlier results, kept for the record
PREFECT_HOME = WORK_DIR / "prefect-home"
START_MARK = "<!-- bench_pipeline:start -->"
END_MARK = "<!-- bench_pipeline:end -->"
SIZE_NAMES = {"20k": 20_000, "200k": 200_000, "1m": 1_000_000}

sys.path.insert(0, str(BENCH_DIR))
from make_corpus import canonical_fingerprint  # noqa: E402
from score_dedup import format_table, score  # noqa: E402


def parse_size(text: str) -> tuple[str, int]:
    text = text.strip().lower()
    if text in SIZE_NAMES:
        return text, SIZE_NAMES[text]
    n = int(float(text.replace("_", "").replace(",", "")))
    return (f"{n // 1000}k" if n % 1000 == 0 and n < 1_000_000 else str(n)), n


# ------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        from importlib.metadata import version

        zh_version = version("zhclean")
    except Exception:
        zh_version = "unknown"
    return {
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or 0),
        "cpu_model": cpu,
        "ram_gib": round(mem_kb / 1024**2, 1),
        "python": platform.python_version(),
        "zhclean_version": zh_version,
        "kernel": platform.release(),
    }


def source_fingerprint() -> dict[str, Any]:
    """SHA-256 over zhclean's code (flows/, transforms/, pyproject.toml) and its newest mtime.

    Other people edit zhclean while benchmarks run: this tells which code a run measured.
    """
    import hashlib

    files = sorted(
        [
            *REPO_DIR.glob("flows/*.py"),
            *REPO_DIR.glob("transforms/*.py"),
            REPO_DIR / "pyproject.toml",
        ]
    )
    digest = hashlib.sha256()
    newest = 0.0
    for path in files:
        digest.update(str(path.relative_to(REPO_DIR)).encode() + b"\0" + path.read_bytes())
        newest = max(newest, path.stat().st_mtime)
    return {
        "sha256": digest.hexdigest()[:16],
        "files": len(files),
        "newest_mtime": datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds"),
    }


# ------------------------------------------------------------------ process tree memory


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="utf-8") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _own_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of the process itself so far (not its children)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _forked_by_forkserver(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"multiprocessing.forkserver" in handle.read()
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"
    if "multiprocessing" in raw:
        return "worker process (multiprocessing)"
    return raw[:120]


class TreeMemoryPoller(threading.Thread):
    """Polls the summed RSS of a process and all its descendants until stopped.

    Keeps the peaks, the processes at the moment of the summed peak, and a
    timeline (one sample a second: seconds since start, summed MiB, largest
    process MiB).
    """

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_sum = 0
        self.peak_single = 0
        self.peak_processes = 0
        self.peak_at = 0.0
        self.peak_breakdown: list[tuple[str, float]] = []
        self.timeline: list[tuple[float, float, float]] = []
        # Own CPU seconds of each forkserver process and its workers, as last polled.
        self.forkserver_cpu: dict[int, float] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        started = time.perf_counter()
        last_sample = -1.0
        while not self._stop_event.is_set():
            children = _children_map()
            tree, todo = [], [self.root_pid]
            while todo:
                pid = todo.pop()
                tree.append(pid)
                todo.extend(children.get(pid, []))
            sizes = [_rss_bytes(pid) for pid in tree]
            total = sum(sizes)
            for pid in tree:
                if pid in self.forkserver_cpu or _forked_by_forkserver(pid):
                    cpu = _own_cpu_seconds(pid)
                    if cpu is not None:
                        self.forkserver_cpu[pid] = cpu
            now = time.perf_counter() - started
            if total > self.peak_sum:
                self.peak_sum = total
                self.peak_at = now
                self.peak_breakdown = sorted(
                    (
                        (_cmdline(pid), round(size / 2**20, 1))
                        for pid, size in zip(tree, sizes, strict=True)
                        if size
                    ),
                    key=lambda item: -item[1],
                )
            self.peak_single = max(self.peak_single, max(sizes, default=0))
            self.peak_processes = max(self.peak_processes, len(tree))
            if now - last_sample >= 1.0:
                last_sample = now
                self.timeline.append(
                    (
                        round(now, 1),
                        round(total / 2**20, 1),
                        round(max(sizes, default=0) / 2**20, 1),
                    )
                )
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def parse_time_v(text: str) -> dict[str, float]:
    """The fields of GNU time's ``-v`` report that matter here."""
    out: dict[str, float] = {}
    patterns = {
        "max_rss_kb": r"Maximum resident set size \(kbytes\): (\d+)",
        "user_s": r"User time \(seconds\): ([\d.]+)",
        "system_s": r"System time \(seconds\): ([\d.]+)",
        "cpu_percent": r"Percent of CPU this job got: (\d+)%",
        "exit_status": r"Exit status: (\d+)",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        if match:
            out[key] = float(match.group(1))
    return out


def largest_process_rss_mib(run: dict[str, Any]) -> float | None:
    """Peak RSS of the run's largest process.

    ``/usr/bin/time -v`` sees only the processes that the command reaps;
    zhclean's workers are reaped by their forkserver, which the command does
    not reap, so the /proc poller's peak counts as well.
    """
    figures = [run.get("max_rss_mib"), run.get("peak_single_rss_mib_polled")]
    return max((f for f in figures if f is not None), default=None)


def timed_run(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` (under /usr/bin/time -v if present); wall time, memory, exit code."""
    time_file = log.with_suffix(".time")
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    full = [gnu_time, "-v", "-o", str(time_file), *cmd] if gnu_time else cmd
    with log.open("w", encoding="utf-8") as handle:
        started = time.perf_counter()
        proc = subprocess.Popen(
            full, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=REPO_DIR
        )
        poller = TreeMemoryPoller(proc.pid)
        poller.start()
        code = proc.wait()
        wall = time.perf_counter() - started
        poller.stop()
    result: dict[str, Any] = {
        "command": " ".join(cmd),
        "exit_code": code,
        "wall_seconds": round(wall, 3),
        "peak_tree_rss_mib": round(poller.peak_sum / 2**20, 1),
        "peak_single_rss_mib_polled": round(poller.peak_single / 2**20, 1),
        "peak_processes": poller.peak_processes,
        "peak_tree_rss_at_seconds": round(poller.peak_at, 1),
        "processes_at_peak": poller.peak_breakdown,
        "memory_timeline": poller.timeline,
        "log": str(log),
    }
    if gnu_time and time_file.exists():
        tv = parse_time_v(time_file.read_text(encoding="utf-8", errors="replace"))
        # zhclean's workers are forked by multiprocessing's forkserver, which is
        # not reaped by the command (it exits a moment after it): /usr/bin/time
        # does not count their CPU time, so it is polled from /proc (every
        # 0.2 s: the last moment of each such process is missed).
        tv["forkserver_cpu_s"] = round(sum(poller.forkserver_cpu.values()), 2)
        result["time_v"] = tv
        if "max_rss_kb" in tv:
            result["max_rss_mib"] = round(tv["max_rss_kb"] / 1024, 1)
    result["max_rss_mib"] = largest_process_rss_mib(result)
    return result


# ------------------------------------------------------------------ benchmark


def ensure_corpus(
    label: str, n: int, seed: int, python: str, workers: int | None
) -> tuple[Path, dict[str, Any]]:
    corpus = WORK_DIR / f"corpus-{label}-s{seed}"
    manifest = corpus / "manifest.json"
    if not manifest.exists():
        cmd = [
            python,
            str(BENCH_DIR / "make_corpus.py"),
            "--docs",
            str(n),
            "--seed",
            str(seed),
            "--out",
            str(corpus),
            "--force",
        ]
        if workers:
            cmd += ["--workers", str(workers)]
        print("$ " + " ".join(cmd), flush=True)
        started = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=REPO_DIR)
        print(f"  corpus generated in {time.perf_counter() - started:.1f} s", flush=True)
    return corpus, json.loads(manifest.read_text(encoding="utf-8"))


def bench_size(label: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    corpus, manifest = ensure_corpus(label, n, args.seed, args.python, args.corpus_workers)
    repeats = args.repeats if args.repeats else (3 if n < 100_000 else 1)
    canonical_now = canonical_fingerprint()
    canonical_then = manifest.get("canonical_py_sha256")
    if canonical_then != canonical_now:
        print(
            f"  WARNING: transforms/dedup/canonical.py changed since {corpus.name} was generated "
            f"({canonical_then} -> {canonical_now}): its true Jaccards follow the older "
            "canonical form (regenerate with make_corpus.py --force to follow the new one)",
            flush=True,
        )
    env = dict(os.environ, PREFECT_HOME=str(PREFECT_HOME))
    runs = []
    for k in range(1, repeats + 1):
        out = WORK_DIR / f"out-{label}-s{args.seed}-run{k}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [args.zhclean, "run", str(corpus / "data"), "-o", str(out)]
        if args.zhclean_args:
            cmd += args.zhclean_args.split()
        log = WORK_DIR / "logs" / f"zhclean-{label}-s{args.seed}-run{k}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        print(
            f"$ {' '.join(cmd)}   (run {k}/{repeats}, load average {os.getloadavg()[0]:.2f})",
            flush=True,
        )
        load_before = os.getloadavg()
        code_before = source_fingerprint()
        run = timed_run(cmd, env, log)
        run["zhclean_source"] = code_before
        if source_fingerprint()["sha256"] != code_before["sha256"]:
            run["zhclean_source_changed_during_run"] = True
            print("  WARNING: zhclean's code changed during this run", flush=True)
        run["load_average_before"] = [round(x, 2) for x in load_before]
        run["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(
            f"  exit {run['exit_code']}, wall {run['wall_seconds']:.1f} s, "
            f"peak RSS {run.get('max_rss_mib', '?')} MiB (tree sum {run['peak_tree_rss_mib']} MiB)",
            flush=True,
        )
        stats_path = out / "stats.json"
        if run["exit_code"] == 0 and stats_path.exists():
            stats = json.loads(stats_path.read_text(encoding="utf-8"))
            run["documents"] = stats["documents"]
            run["flow_seconds"] = stats.get("seconds")
            run["stages"] = {
                name: {"input": st["input"], "seconds": st["seconds"], "extra": st.get("extra", {})}
                for name, st in stats["stages"].items()
            }
            extracted = stats["documents"]["extracted"]
            run["docs_per_second_wall"] = round(extracted / run["wall_seconds"], 1)
            if run["flow_seconds"]:
                run["docs_per_second_flow"] = round(extracted / run["flow_seconds"], 1)
            started = time.perf_counter()
            scores = score(out, corpus / "truth.parquet")
            run["score_seconds"] = round(time.perf_counter() - started, 2)
            run["scores"] = scores
            print("  " + format_table(scores).replace("\n", "\n  "), flush=True)
        else:
            run["error_tail"] = log.read_text(encoding="utf-8", errors="replace")[-4000:]
            print(
                f"  zhclean failed; last lines of {log}:\n{run['error_tail'][-1500:]}", flush=True
            )
        runs.append(run)
        if not args.keep_outputs and k < repeats:
            shutil.rmtree(out, ignore_errors=True)
    result = {
        "size_label": label,
        "documents": n,
        "seed": args.seed,
        "corpus": str(corpus.relative_to(REPO_DIR)),
        "corpus_manifest": manifest,
        "machine": machine_info(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "repeats": repeats,
        "runs": runs,
        "median": medians(runs),
        "canonical_py_sha256": {"corpus": canonical_then, "run": canonical_now},
        "argv": ["python", *sys.argv],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"pipeline-{label}-s{args.seed}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results -> {path}", flush=True)
    return result


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["exit_code"] == 0 and "stages" in r]
    if not ok:
        return {}

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    out: dict[str, Any] = {
        "runs_ok": len(ok),
        "wall_seconds": med([r["wall_seconds"] for r in ok]),
        "flow_seconds": med([r["flow_seconds"] for r in ok if r.get("flow_seconds")]),
        "docs_per_second_wall": med([r["docs_per_second_wall"] for r in ok]),
        "docs_per_second_flow": med(
            [r["docs_per_second_flow"] for r in ok if "docs_per_second_flow" in r]
        ),
        "peak_tree_rss_mib": med([r["peak_tree_rss_mib"] for r in ok]),
        "wall_seconds_all": [r["wall_seconds"] for r in ok],
    }
    if all("max_rss_mib" in r for r in ok):
        out["max_rss_mib"] = med([largest_process_rss_mib(r) for r in ok])
    out["stages"] = {}
    for name in ok[0]["stages"]:
        secs = med([r["stages"][name]["seconds"] for r in ok])
        inp = ok[0]["stages"][name]["input"]
        out["stages"][name] = {
            "input": inp,
            "seconds": secs,
            "docs_per_second": round(inp / secs, 1) if secs else None,
        }
    return out


# ------------------------------------------------------------------ report


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _short_process(cmdline: str) -> str:
    if "uvicorn" in cmdline and "prefect" in cmdline:
        return "Prefect server"
    if "zhclean run" in cmdline:
        return "zhclean CLI (flow)"
    if cmdline.startswith("worker"):
        return "worker"
    if "/usr/bin/time" in cmdline:
        return "time"
    return cmdline[:40]


def render_report(results: list[dict[str, Any]], commands: list[str]) -> str:
    results = sorted(results, key=lambda r: r["documents"])
    machine = results[0]["machine"]
    lines = [
        START_MARK,
        "## Whole pipeline: `zhclean run` on generated corpora (bench/bench_pipeline.py)",
        "",
        "Measured by `bench/bench_pipeline.py` (its docstring says how): the real CLI as a "
        "subprocess, wall time from start to exit (Prefect's temporary server start-up included), "
        "peak RSS from `/usr/bin/time -v` (largest single process) and the peak of the summed RSS "
        "of the whole process tree (polled from /proc every 0.2 s), per-stage seconds from "
        "`stats.json` (zhclean's own timing, summed over shards), dedup quality from "
        "`bench/score_dedup.py` against the generator's `truth.parquet`. Corpora from "
        "`bench/make_corpus.py` (about 1,400 characters a document, 20% perturbed copies in 10 "
        "kinds, sentences from 7 text sources: see `bench/corpus_sources.py`). zhclean defaults "
        "(2 workers = all cores).",
        "",
        f"- Machine: {machine['nproc']} CPUs (nproc), {machine['cpu_model']}, "
        f"{machine['ram_gib']} GiB RAM; Python {machine['python']}, zhclean "
        f"{machine['zhclean_version']}. Shared and noisy: the load average before each run is "
        "in the speed table.",
        "- Dates (UTC): "
        + ", ".join(f"{r['size_label']} {r['date'][:16].replace('T', ' ')}" for r in results),
        "- Commands:",
        "",
        "```sh",
        *commands,
        "```",
        "",
        "Per corpus, the generator (`make_corpus.py`, 2 processes):",
        "",
        "| corpus | documents | originals | copies (clusters) | positive pairs (J ≥ 0.8) | max J between "
        "sampled originals | generation s | canonical.py: truth / run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        m = r["corpus_manifest"]
        chk = m["originals_check"]
        pos = r["runs"][-1].get("scores", {}).get("pairs", {}).get("positive")
        lines.append(
            f"| {r['corpus']} | {m['docs']:,} | {m['originals']:,} | {m['copies']:,} "
            f"({m['clusters_with_copies']:,}) | {_fmt(pos)} | {chk['max']:.3f} "
            f"({chk['documents']:,} originals) | {m['seconds']['total']:.0f} | "
            f"{r.get('canonical_py_sha256', {}).get('corpus') or 'not recorded'} / "
            f"{r.get('canonical_py_sha256', {}).get('run') or 'not recorded'} |"
        )
    lines += [
        "",
        "Speed and memory (20k: median of 3 runs; 200k and 1M: one run each):",
        "",
        "| documents | runs (wall s each) | wall s | docs/s (wall) | flow s | docs/s (flow) | "
        "peak RSS, largest process MiB | peak RSS, tree sum MiB | load avg before | "
        "zhclean code |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        md = r["median"]
        loads = ", ".join(f"{run['load_average_before'][0]:.1f}" for run in r["runs"])
        codes = []
        for run in r["runs"]:
            code = run.get("zhclean_source", {}).get("sha256", "?")
            if run.get("zhclean_source_changed_during_run"):
                code += " (changed during run)"
            codes.append(code)
        code_cell = ", ".join(dict.fromkeys(codes))
        if not md:
            lines.append(
                f"| {r['documents']:,} | {r['repeats']} | failed | | | | | | {loads} | {code_cell} |"
            )
            continue
        walls = ", ".join(f"{w:.1f}" for w in md["wall_seconds_all"])
        lines.append(
            f"| {r['documents']:,} | {md['runs_ok']} ({walls}) | {md['wall_seconds']:.1f} | "
            f"{_fmt(md['docs_per_second_wall'])} | {md['flow_seconds']:.1f} | "
            f"{_fmt(md['docs_per_second_flow'])} | {_fmt(md.get('max_rss_mib'))} | "
            f"{_fmt(md['peak_tree_rss_mib'])} | {loads} | {code_cell} |"
        )
    lines += [
        "",
        "Where the memory peak was (the run quoted last for each size; from the /proc poller):",
        "",
        "| documents | peak of the tree sum at (s into the run) | processes at that moment, MiB |",
        "| ---: | ---: | --- |",
    ]
    for r in results:
        run = r["runs"][-1]
        if "processes_at_peak" not in run:
            continue
        procs = "; ".join(
            f"{_short_process(name)} {mib:,.0f}" for name, mib in run["processes_at_peak"][:5]
        )
        lines.append(
            f"| {r['documents']:,} | {run['peak_tree_rss_at_seconds']:,.0f} of "
            f"{run['wall_seconds']:,.0f} | {procs} |"
        )
    # The stages as the runs' stats.json list them, in pipeline order (older
    # runs named some stages differently: each gets its own column).
    stages = list(dict.fromkeys(n for r in results for n in r["median"].get("stages", {})))
    lines += [
        "",
        "Per stage: seconds from `stats.json` and documents in / second:",
        "",
        "| documents | " + " | ".join(stages) + " |",
        "| ---: | " + " | ".join("---:" for _ in stages) + " |",
    ]
    for r in results:
        st = r["median"].get("stages", {})
        cells = []
        for name in stages:
            s = st.get(name)
            cells.append(f"{s['seconds']:.1f} s, {_fmt(s['docs_per_second'])}/s" if s else "-")
        lines.append(f"| {r['documents']:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Dedup quality (identical in every run of a size: the pipeline is deterministic): "
        "precision counts as false only pairs from different generated clusters; strict "
        "precision also counts copy/copy pairs and pairs below J 0.8 inside one cluster:",
        "",
        "| documents | precision | strict precision | recall | F1 | false pairs | missed pairs "
        "(their true J) | lost clusters | merged clusters |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        sc = r["runs"][-1].get("scores")
        if not sc:
            lines.append(f"| {r['documents']:,} | failed | | | | | | | |")
            continue
        missed = sc.get("missed", {})
        missed_j = (
            f" (J {missed['min_jaccard']:.3f}-{missed['max_jaccard']:.3f}; "
            f"{missed.get('original_text_damaged', '?')} with an original cut by zhclean)"
            if missed.get("count")
            else ""
        )
        lines.append(
            f"| {r['documents']:,} | {sc['precision']:.4f} | {sc['precision_strict']:.4f} | "
            f"{sc['recall']:.4f} | {sc['f1']:.4f} | {sc['pairs']['false']:,} | "
            f"{sc['pairs']['missed']:,}{missed_j} | {sc['clusters']['lost_every_copy']:,} | "
            f"{sc['clusters']['zhclean_merging_generated_clusters']:,} |"
        )
    kinds: list[str] = []
    for r in results:
        for k in r["runs"][-1].get("scores", {}).get("recall_by_kind", {}):
            if k not in kinds:
                kinds.append(k)
    lines += [
        "",
        "Recall per perturbation kind (found / copies with true J ≥ 0.8):",
        "",
        "| kind | " + " | ".join(f"{r['documents']:,}" for r in results) + " |",
        "| --- | " + " | ".join("---:" for _ in results) + " |",
    ]
    for kind in kinds:
        cells = []
        for r in results:
            k = r["runs"][-1].get("scores", {}).get("recall_by_kind", {}).get(kind)
            cells.append(
                f"{k['recall']:.4f} ({k['found']:,}/{k['positives']:,})"
                if k and k["recall"] is not None
                else "-"
            )
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Text integrity (`score_dedup.py`): kept originals are plain `text` records (never "
        "HTML); how many zhclean sent through its HTML stripper, and how many kept fewer than "
        "90% / 70% of their characters:",
        "",
        "| documents | kept originals | through the HTML stripper | lost > 10% of characters | "
        "lost > 30% |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ti = r["runs"][-1].get("scores", {}).get("text_integrity")
        if ti:
            lines.append(
                f"| {r['documents']:,} | {ti['kept_originals']:,} | "
                f"{ti['sent_through_html_stripper']:,} | {ti['lost_over_10pct_chars']:,} | "
                f"{ti['lost_over_30pct_chars']:,} |"
            )
    archived = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(ARCHIVE_DIR.glob("pipeline-*.json"))
    ]
    if archived:
        lines += [
            "",
            "Earlier runs of the same script on older zhclean code (kept in "
            "`bench/work/results-archive/`; their corpora had the same documents):",
            "",
            "| documents | date (UTC) | zhclean code | runs | wall s (median) | peak RSS, largest "
            "process MiB | peak RSS, tree sum MiB | F1 | recall |",
            "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in sorted(archived, key=lambda r: (r["documents"], r["date"])):
            md = r["median"]
            sc = r["runs"][-1].get("scores", {})
            code = r["runs"][0].get("zhclean_source", {}).get("sha256", "not recorded")
            lines.append(
                f"| {r['documents']:,} | {r['date'][:16].replace('T', ' ')} | {code} | "
                f"{md.get('runs_ok', 0)} | {_fmt(md.get('wall_seconds'), 1)} | "
                f"{_fmt(md.get('max_rss_mib'))} | {_fmt(md.get('peak_tree_rss_mib'))} | "
                f"{_fmt(sc.get('f1'), 4)} | {_fmt(sc.get('recall'), 4)} |"
            )
    lines += [
        "",
        "Notes:",
        "",
        "- The machine was shared while these ran (other benchmarks and test suites): the load "
        "average before each run is in the speed table, and `zhclean code` is a hash of "
        "`flows/`, `transforms/` and `pyproject.toml` when the run started (other people were "
        'changing them; "changed during run" marks runs whose code changed before they ended). '
        "Times are pessimistic; re-measure on a quiet machine before relying on them.",
        "- The true Jaccard of a copy is computed with `transforms/dedup/canonical.py` as it was when "
        "the corpus was generated (hash in the corpus table); zhclean's own canonical form may "
        "have changed since.",
        "- Text integrity: kept originals are plain `text` records, yet some go through zhclean's "
        "HTML stripper because their prose holds tag-like text (`<perl thanks@perl.org>`, "
        "`<file>`), an entity (`&#160;`) or a `<?` that the stripper reads as a processing "
        "instruction running to the next `>`, possibly hundreds of characters and several "
        "paragraphs later. Such a record loses that text and its paragraph breaks; a few fall "
        "under `filter.min_chars` and are rejected as `too_short`, and an HTML-wrapped copy of "
        "one (whose `<` is escaped as `&lt;`) no longer matches it. The quality table counts the "
        "missed pairs whose original zhclean cut by more than 10% of its characters; the other "
        "misses sit close to the 0.8 threshold (MinHash estimate noise).",
        "",
        END_MARK,
        "",
    ]
    return "\n".join(lines)


def write_section(markdown: str, path: Path) -> None:
    """Replace this script's own section of ``path`` (between the marks) or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START_MARK in text and END_MARK in text:
        before = text[: text.index(START_MARK)]
        after = text[text.index(END_MARK) + len(END_MARK) :].lstrip("\n")
        text = before + markdown.rstrip("\n") + "\n" + (("\n" + after) if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + markdown
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the whole `zhclean run` CLI on generated corpora: wall time, "
        "documents/s, peak memory, per-stage seconds and dedup quality (see the module "
        "docstring).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", default="20k", help="comma-separated: 20k, 200k, 1m or a number")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument(
        "--repeats", type=int, default=0, help="runs per size (0: 3 below 100k, else 1)"
    )
    parser.add_argument(
        "--zhclean",
        default=str(Path(sys.executable).with_name("zhclean")),
        help="the zhclean executable",
    )
    parser.add_argument("--zhclean-args", default="", help="extra arguments for zhclean run")
    parser.add_argument("--python", default=sys.executable, help="python for make_corpus.py")
    parser.add_argument("--corpus-workers", type=int, default=None, help="make_corpus --workers")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    parser.add_argument("--keep-outputs", action="store_true", help="keep every run's output")
    parser.add_argument(
        "--delete-corpus", action="store_true", help="delete each corpus after its runs"
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="re-score the kept output of each saved result's last run (after a scorer change)",
    )
    parser.add_argument("--report", action="store_true", help="render saved results as Markdown")
    parser.add_argument(
        "--results-md", type=Path, help="with --report: put the section in this file"
    )
    args = parser.parse_args(argv)

    if args.rescore:
        for path in sorted(RESULTS_DIR.glob("pipeline-*.json")):
            result = json.loads(path.read_text(encoding="utf-8"))
            last = result["runs"][-1]
            out = (
                WORK_DIR / f"out-{result['size_label']}-s{result['seed']}-run{len(result['runs'])}"
            )
            truth = REPO_DIR / result["corpus"] / "truth.parquet"
            if last["exit_code"] != 0 or not out.exists() or not truth.exists():
                print(f"bench_pipeline: cannot re-score {path.name} ({out} or {truth} missing)")
                continue
            last["scores"] = score(out, truth)
            last["rescored_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            path.write_text(
                json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            print(f"bench_pipeline: re-scored {path.name} from {out.name}")
        if not args.report:
            return 0

    if args.report:
        results = [
            json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(RESULTS_DIR.glob("pipeline-*.json"))
        ]
        if not results:
            print("bench_pipeline: no results in bench/work/results/", file=sys.stderr)
            return 2
        for r in results:  # medians as this script computes them now
            r["median"] = medians(r["runs"])
        commands = [
            "# bench_pipeline.py runs make_corpus.py itself (with --force) when a corpus is missing:"
        ]
        for r in sorted(results, key=lambda r: r["documents"]):
            m = r["corpus_manifest"]
            commands.append(
                f"python bench/make_corpus.py --docs {m['docs']} --seed {m['seed']} --out {r['corpus']}"
            )
        seen_argv: list[str] = []
        for r in sorted(results, key=lambda r: r["documents"]):
            argv = " ".join(r.get("argv") or [])
            if not argv:
                argv = (
                    f"python bench/bench_pipeline.py --sizes {r['size_label']} --seed {r['seed']}"
                )
            argv = argv.replace(str(REPO_DIR) + "/", "")
            if argv not in seen_argv:
                seen_argv.append(argv)
        commands += seen_argv
        commands.append("python bench/bench_pipeline.py --rescore   # after a scorer change")
        for r in sorted(results, key=lambda r: r["documents"]):
            commands.append(
                f"# {r['size_label']} runs: "
                + r["runs"][0]["command"].replace(str(REPO_DIR) + "/", "")
            )
        commands.append("python bench/bench_pipeline.py --report --results-md bench/RESULTS.md")
        markdown = render_report(results, commands)
        if args.results_md:
            write_section(markdown, args.results_md)
            print(f"bench_pipeline: section written to {args.results_md}")
        else:
            print(markdown)
        return 0

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not Path(args.zhclean).exists():
        print(f"bench_pipeline: {args.zhclean} not found (use --zhclean)", file=sys.stderr)
        return 2
    print(f"machine: {machine_info()}", flush=True)
    if not args.no_warmup:
        env = dict(os.environ, PREFECT_HOME=str(PREFECT_HOME))
        out = WORK_DIR / "out-warmup"
        print("warm-up (untimed): zhclean run data/sample", flush=True)
        subprocess.run(
            [args.zhclean, "run", "data/sample", "-o", str(out), "--quiet"],
            cwd=REPO_DIR,
            env=env,
            check=False,
        )
    failed = False
    for label, n in sizes:
        result = bench_size(label, n, args)
        failed |= not result["median"]
        if args.delete_corpus:
            shutil.rmtree(REPO_DIR / result["corpus"], ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
