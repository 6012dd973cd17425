"""Side by side: zhclean's deduplication and datatrove's MinHash pipeline, same corpus, same run.

Usage::

    python bench/compare_datatrove.py --docs 20000                 # 3 repeats, medians
    python bench/compare_datatrove.py --docs 200000 --repeats 1 --settings char5,cmn
    python bench/compare_datatrove.py --report                     # re-render RESULTS.md only

In one invocation, on one corpus and machine, it

1. makes (once) a virtual environment for datatrove alone,
   ``bench/work/datatrove-venv``, with ``datatrove==0.10.1`` and what its
   MinHash pipeline needs (``spacy "xxhash<4" orjson regex tokenizers``, and
   ``jieba`` for ``language="cmn"``); zhclean's environment is not touched;
2. generates the corpus with ``bench/make_corpus.py`` into
   ``bench/work/dt-corpus-SIZE-sSEED/`` unless it exists (or takes
   ``--corpus``);
3. runs, ``--repeats`` times, in an order rotated at each repeat:

   - ``zhclean run CORPUS/data -o OUT --workers W`` (the CLI, every stage,
     Parquet written), with ``PREFECT_HOME=bench/work/dt-prefect-home``
     (warmed up once, untimed, on ``data/sample``);
   - ``bench/datatrove_runner.py`` under datatrove's environment for each
     ``--settings`` entry: ``char5`` (character 5-grams through a
     one-token-per-character ``WordTokenizer``), ``cmn`` (``language="cmn"``:
     spaCy Chinese with jieba, word 5-grams), ``zh`` (``language="zh"``: in
     0.10.1 spaCy's multilingual tokenizer). datatrove reads each line's
     ``text``, or its raw ``html`` when there is no ``text``: it does not
     strip markup, and neither does the runner (a user of its MinHash
     pipeline would not); zhclean reads the same fields and strips the HTML
     itself;

4. measures for each run:

   - **time**: for zhclean, ``stats.json``'s ``stages.dedup.seconds`` (the
     dedup stage: canonical form, signatures, banding, clustering, as job
     time summed over its jobs, so with 2 workers it can exceed the wall
     time it spans), the flow's ``seconds``, and the CLI process's wall
     time, Prefect's temporary server start-up included; for datatrove, the
     summed wall time of its four stages (``executor.run()`` each: process
     pool start-up, JSON Lines reading, signatures, buckets, clustering,
     filter with gzip JSON Lines writing), and per stage;
   - **documents/s** = documents given to the timed span / its seconds;
   - **CPU seconds** (user + system), which a busy shared machine disturbs
     far less than wall time: for zhclean, ``/usr/bin/time -v`` of the CLI
     (its workers and Prefect's server are children it reaps); for datatrove,
     the runner's own ``/proc`` count of its process tree per stage
     (``/usr/bin/time`` misses its pool workers, children of the
     forkserver);
   - **peak memory** of the process tree: the peak of the summed RSS of the
     process and all its descendants, polled from ``/proc`` every 0.2 s
     (Prefect's server and zhclean's workers; datatrove's pool workers and
     its ``multiprocess`` manager), and ``/usr/bin/time -v``'s maximum RSS
     (largest single process);
   - **quality** with ``bench/score_dedup.py`` (datatrove through
     ``bench/datatrove_scoring.py``): precision, recall, F1 over the
     (copy, original) pairs whose true character-5-gram Jaccard is >= 0.8,
     recall per perturbation kind, clusters that lost every copy;
   - **ratios within the run**: zhclean dedup-stage documents/s over
     datatrove's (char5 and others), and the same per core (zhclean's dedup
     jobs are single-threaded, so their seconds are one core's; datatrove's
     documents per CPU second of its pipeline); datatrove's pipeline seconds over
     zhclean's whole-run seconds (CLI wall and flow); datatrove's pipeline
     CPU seconds over zhclean's whole-run CPU seconds;

5. prints one table (medians over the repeats; a ratio's median is the
   median of the per-run ratios), saves everything to
   ``bench/work/results/datatrove-compare-SIZE-sSEED.json`` and renders every
   saved comparison into its own section of ``bench/RESULTS.md`` (between
   ``<!-- compare_datatrove:start -->`` and ``<!-- compare_datatrove:end -->``,
   appended the first time; no other section is touched).

Other people edit zhclean while this runs: a fingerprint of its code is
recorded before and after every zhclean run, and a change is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
RESULTS_DIR = WORK_DIR / "results"
LOG_DIR = WORK_DIR / "dt-logs"
VENV_DIR = WORK_DIR / "datatrove-venv"
PREFECT_HOME = WORK_DIR / "dt-prefect-home"
RUNNER = BENCH_DIR / "datatrove_runner.py"
START_MARK = "<!-- compare_datatrove:start -->"
END_MARK = "<!-- compare_datatrove:end -->"
DATATROVE_PACKAGES = [
    "datatrove==0.10.1",
    "spacy",
    "xxhash<4",
    "orjson",
    "regex",
    "tokenizers",
    "jieba",
]
SETTING_LABELS = {
    "char5": "datatrove, character 5-grams",
    "cmn": 'datatrove, language="cmn" (jieba words)',
    "zh": 'datatrove, language="zh" (spaCy multilingual)',
}

sys.path.insert(0, str(BENCH_DIR))
from bench_pipeline import (  # noqa: E402
    largest_process_rss_mib,
    machine_info,
    source_fingerprint,
    timed_run,
)
from datatrove_scoring import score_datatrove  # noqa: E402
from score_dedup import KIND_ORDER, score  # noqa: E402


def log(message: str) -> None:
    """Progress to stdout, flushed (long runs are polled from a log file)."""
    print(message, flush=True)


# ------------------------------------------------------------------ set-up


def venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def datatrove_versions() -> dict[str, str] | None:
    """Versions in datatrove's environment, or None when it is missing or incomplete."""
    if not venv_python().exists():
        return None
    code = (
        "import json, importlib.metadata as m\n"
        "import datatrove, spacy, xxhash, orjson, regex, tokenizers, jieba\n"
        "names = ['datatrove', 'spacy', 'jieba', 'xxhash', 'numpy', 'orjson', 'regex', 'tokenizers']\n"
        "print(json.dumps({n: m.version(n) for n in names}))\n"
    )
    proc = subprocess.run([str(venv_python()), "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return found if found.get("datatrove") == "0.10.1" else None


def ensure_datatrove_venv(base_python: str) -> dict[str, Any]:
    """Create ``bench/work/datatrove-venv`` with datatrove 0.10.1 if it is not usable yet."""
    found = datatrove_versions()
    if found:
        return {"created": False, "versions": found}
    log(f"creating {VENV_DIR} and installing {' '.join(DATATROVE_PACKAGES)}")
    started = time.perf_counter()
    subprocess.run([base_python, "-m", "venv", "--clear", str(VENV_DIR)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *DATATROVE_PACKAGES], check=True)
    found = datatrove_versions()
    if not found:
        raise RuntimeError(f"datatrove 0.10.1 is not importable in {VENV_DIR} after installing")
    return {
        "created": True,
        "install_seconds": round(time.perf_counter() - started, 1),
        "versions": found,
    }


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def ensure_corpus(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The corpus folder (generated with make_corpus.py when missing) and its manifest."""
    corpus = args.corpus or WORK_DIR / f"dt-corpus-{size_label(args.docs)}-s{args.seed}"
    manifest = corpus / "manifest.json"
    if not manifest.exists():
        if args.corpus:
            raise SystemExit(f"compare_datatrove: {corpus} has no manifest.json")
        cmd = [
            sys.executable,
            str(BENCH_DIR / "make_corpus.py"),
            "--docs",
            str(args.docs),
            "--seed",
            str(args.seed),
            "--out",
            str(corpus),
            "--force",
        ]
        log("$ " + " ".join(cmd))
        subprocess.run(cmd, check=True, cwd=REPO_DIR)
    return corpus, json.loads(manifest.read_text(encoding="utf-8"))


def zhclean_env() -> dict[str, str]:
    return dict(
        os.environ,
        PREFECT_HOME=str(PREFECT_HOME),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )


def warm_up_prefect(zhclean: str) -> None:
    """Untimed zhclean run on data/sample: creates the Prefect database of PREFECT_HOME."""
    out = WORK_DIR / "dt-zhclean-warmup"
    shutil.rmtree(out, ignore_errors=True)
    log(f"warm-up (untimed): zhclean run data/sample -o {out}")
    proc = subprocess.run(
        [zhclean, "run", "data/sample", "-o", str(out)],
        cwd=REPO_DIR,
        env=zhclean_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        log(f"  warm-up failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")


# ------------------------------------------------------------------ one run of each system


def brief_scores(scores: dict[str, Any]) -> dict[str, Any]:
    """The figures of score_dedup's result that the comparison shows."""
    return {
        "precision": scores["precision"],
        "precision_strict": scores["precision_strict"],
        "recall": scores["recall"],
        "f1": scores["f1"],
        "pairs": scores["pairs"],
        "recall_by_kind": {k: v["recall"] for k, v in scores["recall_by_kind"].items()},
        "found_by_kind": {
            k: f"{v['found']}/{v['positives']}" for k, v in scores["recall_by_kind"].items()
        },
        "lost_clusters": scores["clusters"]["lost_every_copy"],
        "lost_examples": scores["clusters"]["lost_examples"],
        "merged_clusters": scores["clusters"]["zhclean_merging_generated_clusters"],
        "documents": scores["documents"],
    }


def missed_examples(output: Path, truth: Path, limit: int = 10) -> list[dict[str, Any]]:
    """Positive (copy, original) pairs not in one cluster: kind, ids, true Jaccard."""
    import pandas as pd
    from score_dedup import load_output

    rows = load_output(output).drop_duplicates("source_id").set_index("source_id")
    t = pd.read_parquet(truth, columns=["id", "cluster_id", "role", "kind", "jaccard"])
    copies = t[(t.role == "copy") & (t.jaccard >= 0.8)]
    key = rows["key"]
    found = copies.id.map(key).eq(copies.cluster_id.map(key)) & copies.id.map(key).notna()
    missed = copies[~found.to_numpy()]
    return [
        {
            "copy": r.id,
            "original": r.cluster_id,
            "kind": r.kind,
            "jaccard": round(float(r.jaccard), 4),
        }
        for r in missed.head(limit).itertuples()
    ]


def run_zhclean(args: argparse.Namespace, corpus: Path, k: int) -> dict[str, Any]:
    """One whole ``zhclean run`` on the corpus; times, memory, scores."""
    out = WORK_DIR / f"dt-zhclean-out-{size_label(args.docs)}-run{k}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        args.zhclean,
        "run",
        str(corpus / "data"),
        "-o",
        str(out),
        "--workers",
        str(args.workers),
    ]
    logfile = LOG_DIR / f"zhclean-{size_label(args.docs)}-run{k}.log"
    before = source_fingerprint()
    run = timed_run(cmd, zhclean_env(), logfile)
    after = source_fingerprint()
    run.update(system="zhclean", zhclean_source=before)
    if after["sha256"] != before["sha256"]:
        run["zhclean_source_changed_during_run"] = after
        log("  WARNING: zhclean's code changed during this run")
    stats_path = out / "stats.json"
    if run["exit_code"] != 0 or not stats_path.exists():
        run["error_tail"] = logfile.read_text(encoding="utf-8", errors="replace")[-3000:]
        log(f"  zhclean failed (exit {run['exit_code']}):\n{run['error_tail'][-1500:]}")
        return run
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    dedup = stats["stages"]["dedup"]
    extracted = stats["documents"]["extracted"]
    run.update(
        documents=extracted,
        flow_seconds=stats["seconds"],
        dedup_seconds=dedup["seconds"],
        dedup_input=dedup["input"],
        dedup_extra=dedup.get("extra", {}),
        stage_seconds={name: st["seconds"] for name, st in stats["stages"].items()},
        dedup_docs_per_second=dedup["input"] / dedup["seconds"],
        flow_docs_per_second=extracted / stats["seconds"],
        cli_docs_per_second=extracted / run["wall_seconds"],
    )
    tv = run.get("time_v", {})
    if "user_s" in tv and "system_s" in tv:
        # Prefect's server is reaped by the CLI; its workers' forkserver is not (polled).
        run["cpu_seconds"] = tv["user_s"] + tv["system_s"] + tv.get("forkserver_cpu_s", 0.0)
    scores = score(out, corpus / "truth.parquet")
    run["scores"] = brief_scores(scores)
    if scores["pairs"]["missed"] or scores["pairs"]["false"]:
        run["missed_examples"] = missed_examples(out, corpus / "truth.parquet")
    if not args.keep_outputs:
        shutil.rmtree(out / "data", ignore_errors=True)
    return run


def run_datatrove(args: argparse.Namespace, corpus: Path, setting: str, k: int) -> dict[str, Any]:
    """One run of datatrove's four MinHash stages (``datatrove_runner.py``); times, memory, scores."""
    work = WORK_DIR / f"dt-run-{size_label(args.docs)}-{setting}-run{k}"
    cmd = [
        str(venv_python()),
        str(RUNNER),
        "--input",
        str(corpus / "data"),
        "--work",
        str(work),
        "--setting",
        setting,
        "--bands",
        str(args.bands),
        "--rows",
        str(args.rows),
        "--tasks",
        str(args.workers),
        "--workers",
        str(args.workers),
    ]
    logfile = LOG_DIR / f"datatrove-{size_label(args.docs)}-{setting}-run{k}.log"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    run = timed_run(cmd, env, logfile)
    run.update(system=f"datatrove-{setting}", setting=setting)
    summary_path = work / "summary.json"
    if run["exit_code"] != 0 or not summary_path.exists():
        run["error_tail"] = logfile.read_text(encoding="utf-8", errors="replace")[-3000:]
        log(
            f"  datatrove ({setting}) failed (exit {run['exit_code']}):\n{run['error_tail'][-1500:]}"
        )
        return run
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    seconds = summary["total_seconds"]
    run.update(
        documents=summary["documents"],
        pipeline_seconds=seconds,
        stage_seconds=summary["stage_seconds"],
        signature_share=summary["stage_seconds"]["signatures"] / seconds,
        docs_per_second=summary["documents"] / seconds,
        stage_cpu_seconds=summary["stage_cpu_seconds"],
        pipeline_cpu_seconds=summary["total_cpu_seconds"],
        # /usr/bin/time misses the pool workers (children of the forkserver): the runner's own
        # /proc count of its process tree instead.
        cpu_seconds=summary["process_tree_cpu_seconds"],
        tokenizer=summary["tokenizer"],
        config=summary["config"],
        tasks=summary["tasks"],
        versions=summary["versions"],
    )
    run["scores"] = brief_scores(
        score_datatrove(work / "assignments.tsv", corpus / "truth.parquet")
    )
    if not args.keep_outputs:
        for sub in ("kept", "removed", "signatures"):
            shutil.rmtree(work / sub, ignore_errors=True)
    return run


def run_ratios(runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Ratios between systems measured in the same repeat."""
    z = runs.get("zhclean", {})
    out: dict[str, float] = {}
    if "dedup_docs_per_second" not in z:
        return out
    for name, r in runs.items():
        if name == "zhclean" or "docs_per_second" not in r:
            continue
        setting = r["setting"]
        out[f"dedup_speedup_vs_{setting}"] = z["dedup_docs_per_second"] / r["docs_per_second"]
        if r.get("pipeline_cpu_seconds"):
            # Per core on both sides: zhclean's dedup jobs are single-threaded (their
            # seconds are one core's), datatrove's workers use every core.
            per_cpu_second = r["documents"] / r["pipeline_cpu_seconds"]
            out[f"dedup_per_core_vs_{setting}"] = z["dedup_docs_per_second"] / per_cpu_second
        out[f"{setting}_pipeline_over_zhclean_cli_wall"] = r["pipeline_seconds"] / z["wall_seconds"]
        out[f"{setting}_pipeline_over_zhclean_flow"] = r["pipeline_seconds"] / z["flow_seconds"]
        if z.get("cpu_seconds"):
            out[f"{setting}_pipeline_cpu_over_zhclean_cli_cpu"] = (
                r["pipeline_cpu_seconds"] / z["cpu_seconds"]
            )
    return out


# ------------------------------------------------------------------ medians and report


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(system_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of every figure over the successful runs of one system."""
    ok = [r for r in system_runs if "scores" in r]
    if not ok:
        return {"runs_ok": 0}
    for run in ok:  # results saved before the poller's peak counted
        run["max_rss_mib"] = largest_process_rss_mib(run)
    keys = [
        "wall_seconds",
        "flow_seconds",
        "dedup_seconds",
        "dedup_docs_per_second",
        "flow_docs_per_second",
        "cli_docs_per_second",
        "pipeline_seconds",
        "docs_per_second",
        "signature_share",
        "cpu_seconds",
        "pipeline_cpu_seconds",
        "peak_tree_rss_mib",
        "max_rss_mib",
    ]
    out: dict[str, Any] = {"runs_ok": len(ok), "documents": ok[0]["documents"]}
    for key in keys:
        if any(key in r for r in ok):
            out[key] = _median([r.get(key) for r in ok])
            out[f"{key}_all"] = [r.get(key) for r in ok]
    for key in ("stage_seconds", "stage_cpu_seconds"):
        if key in ok[0]:
            out[key] = {name: _median([r[key][name] for r in ok]) for name in ok[0][key]}
    for key in ("precision", "recall", "f1"):
        out[key] = _median([r["scores"][key] for r in ok])
    out["lost_clusters"] = max(r["scores"]["lost_clusters"] for r in ok)
    out["recall_by_kind"] = {
        kind: _median([r["scores"]["recall_by_kind"].get(kind) for r in ok])
        for kind in ok[0]["scores"]["recall_by_kind"]
    }
    out["scores_identical_across_runs"] = all(
        r["scores"]["pairs"] == ok[0]["scores"]["pairs"] for r in ok
    )
    out["pairs"] = ok[0]["scores"]["pairs"]
    out["found_by_kind"] = ok[0]["scores"]["found_by_kind"]
    for key in ("tokenizer", "config", "tasks", "versions"):
        if key in ok[0]:
            out[key] = ok[0][key]
    return out


def _f(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def render_tables(result: dict[str, Any]) -> list[str]:
    """Markdown tables of one comparison (also printed)."""
    med = result["median"]
    z = med.get("zhclean", {})
    lines = [
        "| system | timed span | seconds | documents/s | CPU seconds (user+sys) "
        "| peak RSS, tree sum / largest process (MiB) "
        "| precision | recall | F1 | clusters lost |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    if z.get("runs_ok"):
        q = f"{z['precision']:.4f} | {z['recall']:.4f} | {z['f1']:.4f} | {z['lost_clusters']}"
        mem = f"{_f(z.get('peak_tree_rss_mib'), 0)} / {_f(z.get('max_rss_mib'), 0)}"
        lines += [
            f"| zhclean | dedup stage (`stats.json` `stages.dedup.seconds`, job time summed) "
            f"| {_f(z['dedup_seconds'])} | {_f(z['dedup_docs_per_second'], 0)} | - "
            f"| (whole run below) | {q} |",
            f"| zhclean | whole run, flow (`stats.json` `seconds`) | {_f(z['flow_seconds'])} "
            f"| {_f(z['flow_docs_per_second'], 0)} | - | (whole run below) | {q} |",
            f"| zhclean | whole run, CLI process wall (Prefect start-up included) "
            f"| {_f(z['wall_seconds'])} | {_f(z['cli_docs_per_second'], 0)} "
            f"| {_f(z.get('cpu_seconds'))} (whole process tree) | {mem} | {q} |",
        ]
    elif "zhclean" in med:
        lines.append("| zhclean | FAILED (see below) | - | - | - | - | - | - | - | - |")
    for setting in result["settings"]:
        d = med.get(f"datatrove-{setting}", {})
        if not d.get("runs_ok"):
            lines.append(f"| {SETTING_LABELS[setting]} | FAILED | - | - | - | - | - | - | - | - |")
            continue
        lines.append(
            f"| {SETTING_LABELS[setting]} | 4 MinHash stages, wall "
            f"(process: {_f(d['wall_seconds'])} s) | {_f(d['pipeline_seconds'])} "
            f"| {_f(d['docs_per_second'], 0)} "
            f"| {_f(d.get('pipeline_cpu_seconds'))} (process tree: {_f(d.get('cpu_seconds'))}) "
            f"| {_f(d.get('peak_tree_rss_mib'), 0)} / {_f(d.get('max_rss_mib'), 0)} "
            f"| {d['precision']:.4f} | {d['recall']:.4f} | {d['f1']:.4f} | {d['lost_clusters']} |"
        )
    systems = [("zhclean", "zhclean")] + [
        (f"datatrove-{s}", f"datatrove {s}") for s in result["settings"]
    ]
    systems = [(key, label) for key, label in systems if med.get(key, {}).get("runs_ok")]
    lines += [
        "",
        "Recall per perturbation kind (found / positives at true J >= 0.8, from the first run):",
        "",
        "| kind | " + " | ".join(label for _, label in systems) + " |",
        "| --- |" + " ---: |" * len(systems),
    ]
    for kind in KIND_ORDER:
        cells = []
        for key, _ in systems:
            m = med[key]
            if kind not in m["recall_by_kind"]:
                cells.append("-")
                continue
            cells.append(f"{_f(m['recall_by_kind'][kind], 3)} ({m['found_by_kind'][kind]})")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    dt = [(s, med.get(f"datatrove-{s}", {})) for s in result["settings"]]
    dt = [(s, d) for s, d in dt if d.get("runs_ok")]
    if dt:
        stage_names = list(dt[0][1]["stage_seconds"])
        lines += [
            "",
            "datatrove per stage, seconds of wall time / CPU seconds of its process tree (median):",
            "",
            "| setting | " + " | ".join(stage_names) + " | signatures' share of wall |",
            "| --- |" + " ---: |" * (len(stage_names) + 1),
        ]
        for s, d in dt:
            cpu = d.get("stage_cpu_seconds", {})
            cells = [f"{_f(d['stage_seconds'][n])} / {_f(cpu.get(n))}" for n in stage_names]
            lines.append(
                f"| {s} | " + " | ".join(cells) + f" | {d['signature_share'] * 100:.0f}% |"
            )
    if z.get("runs_ok"):
        names = list(z["stage_seconds"])
        lines += [
            "",
            "zhclean per stage, `stats.json` seconds (job time summed over jobs, median):",
            "",
            "| " + " | ".join(names) + " |",
            "|" + " ---: |" * len(names),
            "| " + " | ".join(_f(z["stage_seconds"][n]) for n in names) + " |",
        ]
    ratios = result.get("ratios_median", {})
    if ratios:
        lines += [
            "",
            "Ratios, each computed within one repeat (median over repeats; every repeat's value):",
            "",
            "| ratio | median | per repeat |",
            "| --- | ---: | --- |",
        ]
        for key, value in ratios.items():
            per = ", ".join(_f(r.get(key), 2) for r in result["ratios_per_run"])
            lines.append(f"| {ratio_label(key)} | {value:.2f} | {per} |")
    return lines


def ratio_label(key: str) -> str:
    if key.startswith("dedup_per_core_vs_"):
        setting = key.removeprefix("dedup_per_core_vs_")
        return (
            f"zhclean dedup-stage docs per job second ÷ datatrove {setting} docs per CPU second "
            "(per core on both sides)"
        )
    if key.startswith("dedup_speedup_vs_"):
        setting = key.removeprefix("dedup_speedup_vs_")
        return f"zhclean dedup-stage docs/s ÷ datatrove {setting} docs/s"
    if "_pipeline_cpu_over_" in key:
        setting = key.split("_pipeline_cpu_over_")[0]
        return (
            f"datatrove {setting} pipeline CPU seconds ÷ zhclean whole run CPU seconds "
            "(process tree, Prefect included)"
        )
    setting, rest = key.split("_pipeline_over_zhclean_")
    what = "CLI wall" if rest == "cli_wall" else "flow seconds"
    return f"datatrove {setting} pipeline seconds ÷ zhclean whole run ({what})"


def render_section(results: list[dict[str, Any]]) -> str:
    """This script's whole section of RESULTS.md, from every saved comparison."""
    lines = [
        START_MARK,
        "## zhclean vs datatrove 0.10.1 MinHash, side by side (bench/compare_datatrove.py)",
        "",
        "What is measured (the script's docstring says it in full): in one invocation, on one "
        "corpus from `bench/make_corpus.py`, each system in turn (order rotated per repeat), "
        "2 workers each. **zhclean**: the whole `zhclean run` CLI (every stage, Parquet "
        "written); its dedup stage time is `stats.json` `stages.dedup.seconds` (canonical "
        "form + signatures + banding + clustering, job time summed over its jobs: with 2 "
        "workers this can exceed the wall time it spans, so it understates zhclean's "
        "documents/s if anything). **datatrove**: its four MinHash stages with "
        "`LocalPipelineExecutor` (signatures 2 tasks, buckets 14 tasks = buckets, clustering "
        "1 task, filter 2 tasks; 2 workers), 14 buckets × 8 hashes, 5-grams, default "
        "xxhash 64-bit and `simplify_text`; summed wall time of the four `executor.run()` "
        "calls (reading JSON Lines and writing gzip JSON Lines included), in its own "
        "virtual environment (`bench/work/datatrove-venv`). Character 5-grams come from a "
        "`WordTokenizer` subclass returning one token per non-space character passed as "
        "`language=` (`bench/datatrove_runner.py`); `cmn` is spaCy Chinese with jieba; `zh` "
        "in 0.10.1 resolves to spaCy's multilingual tokenizer. datatrove is fed each line's "
        "`text`, or its **raw** `html` for HTML-wrapped copies (it does not strip markup; "
        "zhclean strips it). Clustering uses `save_cluster_id=True` so that removed "
        "documents can be tied to their kept document for scoring. Peak memory: summed RSS "
        "of the process tree (polled every 0.2 s; an upper bound, shared pages counted per "
        "process) / largest single process (`/usr/bin/time -v`). CPU seconds (user + system, "
        "less disturbed by other load than wall time): zhclean's whole CLI process tree "
        "(`/usr/bin/time -v`, plus its workers and their forkserver, which the CLI does not "
        "reap, polled from `/proc` every 0.2 s); datatrove's four stages, counted from "
        "`/proc` over the runner's "
        "process tree (forkserver and pool workers included). Quality: "
        "`bench/score_dedup.py` (datatrove via `bench/datatrove_scoring.py`), pairs of copy "
        "and original with true character-5-gram Jaccard >= 0.8.",
        "",
    ]
    for result in sorted(results, key=lambda r: r["documents"]):
        m = result["machine"]
        versions = result["datatrove_env"]["versions"]
        repeats = result["repeats"]
        lines += [
            f"### {result['documents']:,} documents "
            + (f"(median of {repeats} runs)" if repeats > 1 else "(one run)"),
            "",
            f"- Command: `{result['command']}`",
            f"- Date: {result['date']} (UTC); load average before each run: "
            + ", ".join(
                f"{r['system']} {r['load_average_before']:.1f}" for r in result["runs_flat"]
            ),
            f"- Machine: {m['nproc']} CPUs (nproc), {m['cpu_model']}, {m['ram_gib']} GiB RAM; "
            f"Python {m['python']}; zhclean {m['zhclean_version']} (code {result['zhclean_source']}); "
            f"datatrove {versions.get('datatrove')}, spaCy {versions.get('spacy')}, jieba "
            f"{versions.get('jieba')}, xxhash {versions.get('xxhash')}, numpy {versions.get('numpy')}. "
            "A shared host: the load average before each run is listed above.",
            f"- Corpus: `{result['corpus']}` (seed {result['seed']}, "
            f"{result['corpus_manifest']['copies']:,} copies in "
            f"{result['corpus_manifest']['clusters_with_copies']:,} clusters)",
            "",
            *render_tables(result),
            "",
        ]
        notes = list(result.get("notes", []))
        shas = [r["zhclean_source"]["sha256"] for r in result["runs"].get("zhclean", [])]
        if len(set(shas)) > 1:
            notes.append(
                "Other engineers changed zhclean between repeats: code fingerprints "
                + ", ".join(f"`{sha}`" for sha in shas)
                + " (`bench_pipeline.source_fingerprint`: flows/, transforms/, pyproject.toml)."
            )
        left_out = [s for s in SETTING_LABELS if s not in result["settings"]]
        if left_out:
            notes.append(
                "datatrove settings not run at this size (for time): "
                + ", ".join(f"`{s}`" for s in left_out)
                + "."
            )
        if notes:
            lines += [f"- {n}" for n in notes] + [""]
    lines += [END_MARK, ""]
    return "\n".join(lines)


def write_section(markdown: str, path: Path) -> None:
    """Replace this script's own section of ``path`` (between its marks) or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START_MARK in text and END_MARK in text:
        before = text[: text.index(START_MARK)]
        after = text[text.index(END_MARK) + len(END_MARK) :].lstrip("\n")
        text = before + markdown.rstrip("\n") + "\n" + (("\n" + after) if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + markdown
    path.write_text(text, encoding="utf-8")


def saved_results() -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(RESULTS_DIR.glob("datatrove-compare-*.json"))
    ]


# ------------------------------------------------------------------ main


def compare(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Every run of one comparison, their medians and ratios."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env_info = ensure_datatrove_venv(args.python)
    log(f"datatrove environment: {env_info}")
    corpus, manifest = ensure_corpus(args)
    if not args.no_zhclean and not args.no_warmup:
        warm_up_prefect(args.zhclean)
    systems = ([] if args.no_zhclean else ["zhclean"]) + [f"datatrove-{s}" for s in args.settings]
    runs_by_system: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    ratios_per_run: list[dict[str, float]] = []
    runs_flat: list[dict[str, Any]] = []
    for k in range(1, args.repeats + 1):
        order = systems[(k - 1) % len(systems) :] + systems[: (k - 1) % len(systems)]
        this_run: dict[str, dict[str, Any]] = {}
        for system in order:
            load = os.getloadavg()[0]
            log(f"[{k}/{args.repeats}] {system} (load average {load:.2f})")
            if system == "zhclean":
                run = run_zhclean(args, corpus, k)
            else:
                run = run_datatrove(args, corpus, system.removeprefix("datatrove-"), k)
            run.update(repeat=k, load_average_before=load)
            run["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            runs_by_system[system].append(run)
            runs_flat.append({"system": system, "repeat": k, "load_average_before": load})
            this_run[system] = run
            if "scores" in run:
                s = run["scores"]
                timed = run.get("dedup_seconds", run.get("pipeline_seconds"))
                log(
                    f"  exit {run['exit_code']}, process wall {run['wall_seconds']:.1f} s, timed "
                    f"span {timed:.1f} s, peak tree RSS {run['peak_tree_rss_mib']:.0f} MiB; "
                    f"P {s['precision']:.4f} R {s['recall']:.4f} F1 {s['f1']:.4f}, "
                    f"lost {s['lost_clusters']}"
                )
        ratios_per_run.append(run_ratios(this_run))
    median = {system: summarize(runs) for system, runs in runs_by_system.items()}
    ratio_keys = sorted({key for r in ratios_per_run for key in r})
    ratios_median = {
        key: statistics.median([r[key] for r in ratios_per_run if key in r]) for key in ratio_keys
    }
    notes = []
    for system, runs in runs_by_system.items():
        for r in runs:
            if r.get("zhclean_source_changed_during_run"):
                notes.append(f"zhclean's code changed during repeat {r['repeat']}.")
            if "scores" not in r:
                notes.append(f"{system} failed in repeat {r['repeat']} (exit {r['exit_code']}).")
        if median[system].get("runs_ok") and not median[system]["scores_identical_across_runs"]:
            notes.append(f"{system}: scores differ between repeats (medians shown).")
    zruns = [r for r in runs_by_system.get("zhclean", []) if "zhclean_source" in r]
    return {
        "command": command,
        "documents": manifest["docs"],
        "seed": manifest["seed"],
        "corpus": str(corpus.relative_to(REPO_DIR))
        if corpus.is_relative_to(REPO_DIR)
        else str(corpus),
        "corpus_manifest": {
            k: manifest[k]
            for k in ("docs", "seed", "copies", "clusters_with_copies", "copies_by_kind")
        },
        "machine": machine_info(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "datatrove_env": env_info,
        "zhclean_source": zruns[0]["zhclean_source"]["sha256"] if zruns else "not run",
        "settings": list(args.settings),
        "workers": args.workers,
        "bands": args.bands,
        "rows": args.rows,
        "repeats": args.repeats,
        "runs": runs_by_system,
        "runs_flat": runs_flat,
        "median": median,
        "ratios_per_run": ratios_per_run,
        "ratios_median": ratios_median,
        "notes": notes,
    }


def with_ratios(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with its medians and ratios computed again from its runs (after a change of
    how they are computed)."""
    median = {system: summarize(runs) for system, runs in result["runs"].items()}
    result = {**result, "median": {**result.get("median", {}), **median}}
    repeats = max((len(runs) for runs in result["runs"].values()), default=0)
    per_run = [
        run_ratios({system: runs[k] for system, runs in result["runs"].items() if k < len(runs)})
        for k in range(repeats)
    ]
    keys = sorted({key for ratios in per_run for key in ratios})
    medians = {key: statistics.median([r[key] for r in per_run if key in r]) for key in keys}
    return {**result, "ratios_per_run": per_run, "ratios_median": medians}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="zhclean's deduplication and datatrove 0.10.1's MinHash pipeline side by "
        "side on one generated corpus: documents/s, wall time, peak memory and dedup scores "
        "(see the module docstring for what is measured).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--docs", type=int, default=20_000, help="corpus size to generate")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument(
        "--corpus", type=Path, help="use this make_corpus.py output instead of generating one"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of every system")
    parser.add_argument(
        "--settings", default="char5,cmn,zh", help="datatrove settings: char5, cmn, zh"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers (both systems)")
    parser.add_argument("--bands", type=int, default=14, help="datatrove buckets")
    parser.add_argument("--rows", type=int, default=8, help="datatrove hashes per bucket")
    parser.add_argument(
        "--zhclean",
        default=str(Path(sys.executable).with_name("zhclean")),
        help="the zhclean executable",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="Python that creates datatrove's venv"
    )
    parser.add_argument("--no-zhclean", action="store_true", help="run datatrove only")
    parser.add_argument("--no-warmup", action="store_true", help="skip the Prefect warm-up")
    parser.add_argument("--keep-outputs", action="store_true", help="keep documents written")
    parser.add_argument(
        "--results-md", type=Path, default=BENCH_DIR / "RESULTS.md", help="Markdown to update"
    )
    parser.add_argument("--no-results-md", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--report", action="store_true", help="only re-render RESULTS.md from saved results"
    )
    args = parser.parse_args(argv)
    args.settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [s for s in args.settings if s not in SETTING_LABELS]
    if unknown:
        parser.error(f"unknown datatrove setting(s): {', '.join(unknown)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.corpus:
        manifest = args.corpus / "manifest.json"
        if not manifest.exists():
            parser.error(f"{args.corpus} has no manifest.json (not a make_corpus.py output)")
        args.docs = json.loads(manifest.read_text(encoding="utf-8"))["docs"]

    if not args.report:
        command = "python bench/compare_datatrove.py " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        result = compare(args, command.strip())
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = (
            RESULTS_DIR
            / f"datatrove-compare-{size_label(result['documents'])}-s{result['seed']}.json"
        )
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log("")
        log("\n".join(render_tables(result)))
        for note in result["notes"]:
            log(f"note: {note}")
        log(f"results -> {path}")
    results = [with_ratios(result) for result in saved_results()]
    if not results:
        print("compare_datatrove: no saved results to report", file=sys.stderr)
        return 1
    if not args.no_results_md:
        write_section(render_section(results), args.results_md)
        log(f"section updated in {args.results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
