"""Run datatrove's four-stage MinHash pipeline on a JSON Lines corpus, timing each stage.

This script runs **inside datatrove's own virtual environment**
(``bench/work/datatrove-venv``, made by ``bench/compare_datatrove.py``), never
in zhclean's.  Usage::

    bench/work/datatrove-venv/bin/python bench/datatrove_runner.py \\
        --input bench/work/dt-corpus-20k-s1/data --work bench/work/dt-run/char5 --setting char5

What it runs (datatrove 0.10.1, ``LocalPipelineExecutor``)
-------------------------------------------------------------
1. **signatures**: ``JsonlReader`` -> ``MinhashDedupSignature``; ``--tasks``
   tasks (the input files are shared out among them), ``--workers`` processes;
2. **buckets**: ``MinhashDedupBuckets``; one task per bucket (datatrove
   requires tasks == number of buckets), ``--workers`` processes;
3. **clustering**: ``MinhashDedupCluster``; one task (datatrove requires it),
   with ``save_cluster_id=True`` so that every removed document can be tied
   to the document its cluster kept (for scoring only: a few extra bytes
   written per duplicate);
4. **filter**: ``JsonlReader`` -> ``MinhashDedupFilter`` (removed documents
   to an exclusion ``JsonlWriter``, ``load_cluster_ids=True``) ->
   ``JsonlWriter`` (kept documents); same tasks and document order as stage 1
   (datatrove requires it). Both writers use datatrove's default, gzip.

MinHash: ``MinhashConfig(n_grams=--ngrams, num_buckets=--bands,
hashes_per_bucket=--rows)``, datatrove's default hashing (xxhash, 64-bit) and
text normalisation (``simplify_text``: lower case, digits to 0, punctuation
to spaces, whitespace collapsed).

``--setting`` chooses the tokens that n-grams are made of:

``char5``
    one token per non-space character (``CharTokenizer`` below, a
    ``WordTokenizer`` subclass passed as ``language=``): character 5-grams,
    the same shingles as zhclean's. datatrove has no such built-in option.
``cmn``
    ``language="cmn"``: spaCy's Chinese tokenizer with jieba (word 5-grams).
``zh``
    ``language="zh"``: in 0.10.1 this resolves to spaCy's *multilingual*
    tokenizer ("xx"), which splits Chinese only at punctuation and spaces
    (clause 5-grams), not to the Chinese one.

Input: each JSON line's ``text`` field, or its ``html`` field when it has no
``text`` (HTML-wrapped copies), fed **raw**: datatrove's MinHash pipeline
does not strip markup and this runner does not either, as a user of it would
not; the ``id`` field becomes the document id.  zhclean reads the same
fields and strips the HTML itself.

What is measured: the wall time of each stage's ``executor.run()`` (process
pool start-up, reading, writing and sorting included), in this process, with
``time.perf_counter``, and the CPU time (user + system) its process tree
used meanwhile (``tree_cpu_seconds``: this process, the forkserver and the
pool workers it reaped, the ``multiprocess`` manager), which a busy machine
disturbs far less than wall time.  After the timed stages, untimed, the kept and removed
documents are read back and ``WORK/assignments.tsv`` is written: one line per
document, ``id<TAB>kept|removed<TAB>cluster`` (cluster -1: no duplicate).
``WORK/summary.json`` holds the timings, counts and versions.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.word_tokenizers import WordTokenizer, load_word_tokenizer

SETTINGS = ("char5", "cmn", "zh")


class CharTokenizer(WordTokenizer):
    """One token per non-space character: datatrove's n-grams become character n-grams.

    datatrove joins the n tokens of an n-gram with a space before hashing, so
    character 5-grams of the normalised text (spaces, which replace
    punctuation, skipped) are what gets hashed.
    """

    def __init__(self) -> None:
        super().__init__("char")

    def word_tokenize(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace()]

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


def text_or_html(self: Any, data: dict, path: str, id_in_file: int | str) -> dict:
    """JsonlReader adapter: the ``text`` field, else the raw ``html`` field (markup kept)."""
    text = data.pop("text", None)
    if text is None:
        text = data.pop("html", "")
    return {
        "text": text,
        "id": data.pop("id", f"{path}/{id_in_file}"),
        "media": [],
        "metadata": data,
    }


def tokenizer_for(setting: str) -> str | WordTokenizer:
    """What ``MinhashDedupSignature(language=...)`` gets for a setting."""
    if setting == "char5":
        return CharTokenizer()
    return setting


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds (user + system) used so far by a process tree, from ``/proc``.

    Sums ``utime + stime + cutime + cstime`` over the live processes of the
    tree: a finished process's time is in its parent's ``cutime``/``cstime``
    once the parent has reaped it (datatrove's pool workers are children of
    ``multiprocess``'s forkserver, which reaps them and lives until this
    process exits), so the sum grows monotonically and counts each CPU second
    once.
    """
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        times[int(entry)] = sum(int(x) for x in fields[11:15])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def run_stage(
    name: str,
    executor: LocalPipelineExecutor,
    timings: dict[str, float],
    cpu: dict[str, float],
) -> None:
    """Run one executor; record its wall time and its process tree's CPU time under ``name``."""
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    executor.run()
    timings[name] = round(time.perf_counter() - started, 3)
    cpu[name] = round(tree_cpu_seconds() - cpu_before, 2)
    print(
        f"datatrove_runner: {name} {timings[name]:.2f} s wall, {cpu[name]:.1f} s CPU",
        file=sys.stderr,
        flush=True,
    )


def read_assignments(folder: Path, status: str) -> list[tuple[str, str, int]]:
    """(id, status, cluster id) of every document written to ``folder`` (gzip JSON Lines)."""
    rows = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                doc = json.loads(line)
                cluster = doc.get("metadata", {}).get("minhash_cluster_id", -1)
                rows.append((doc["id"], status, int(cluster)))
    return rows


def versions() -> dict[str, str]:
    """Versions of the packages that matter here."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("datatrove", "spacy", "jieba", "xxhash", "numpy", "orjson", "regex", "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="datatrove's four-stage MinHash pipeline on a JSON Lines corpus, each "
        "stage timed (see the module docstring). Runs in datatrove's own virtual environment.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--input", type=Path, required=True, help="folder of .jsonl files")
    parser.add_argument("--work", type=Path, required=True, help="output folder (emptied first)")
    parser.add_argument("--setting", choices=SETTINGS, default="char5", help="tokens of n-grams")
    parser.add_argument("--ngrams", type=int, default=5, help="n-gram size (tokens)")
    parser.add_argument("--bands", type=int, default=14, help="buckets (LSH bands)")
    parser.add_argument("--rows", type=int, default=8, help="hashes per bucket (rows)")
    parser.add_argument("--tasks", type=int, default=2, help="tasks of stages 1 and 4")
    parser.add_argument("--workers", type=int, default=2, help="processes per stage")
    args = parser.parse_args(argv)

    if not args.input.is_dir():
        print(f"datatrove_runner: {args.input} is not a folder", file=sys.stderr)
        return 2
    files = sorted(args.input.glob("*.jsonl"))
    if not files:
        print(f"datatrove_runner: no .jsonl file in {args.input}", file=sys.stderr)
        return 2
    shutil.rmtree(args.work, ignore_errors=True)
    work = args.work.resolve()
    work.mkdir(parents=True)
    config = MinhashConfig(n_grams=args.ngrams, num_buckets=args.bands, hashes_per_bucket=args.rows)
    language = tokenizer_for(args.setting)
    resolved = load_word_tokenizer(language)
    tokenizer_desc = f"{type(resolved).__name__}({getattr(resolved, 'language', '')})"

    def reader() -> JsonlReader:
        return JsonlReader(str(args.input.resolve()), glob_pattern="*.jsonl", adapter=text_or_html)

    logs = work / "logs"
    stages: list[tuple[str, Callable[[], LocalPipelineExecutor]]] = [
        (
            "signatures",
            lambda: LocalPipelineExecutor(
                pipeline=[
                    reader(),
                    MinhashDedupSignature(
                        output_folder=str(work / "signatures"), config=config, language=language
                    ),
                ],
                tasks=args.tasks,
                workers=args.workers,
                logging_dir=str(logs / "signatures"),
            ),
        ),
        (
            "buckets",
            lambda: LocalPipelineExecutor(
                pipeline=[
                    MinhashDedupBuckets(
                        input_folder=str(work / "signatures"),
                        output_folder=str(work / "buckets"),
                        config=config,
                    )
                ],
                tasks=args.bands,
                workers=args.workers,
                logging_dir=str(logs / "buckets"),
            ),
        ),
        (
            "clustering",
            lambda: LocalPipelineExecutor(
                pipeline=[
                    MinhashDedupCluster(
                        input_folder=str(work / "buckets"),
                        output_folder=str(work / "remove_ids"),
                        config=config,
                        save_cluster_id=True,
                    )
                ],
                tasks=1,
                workers=1,
                logging_dir=str(logs / "clustering"),
            ),
        ),
        (
            "filter",
            lambda: LocalPipelineExecutor(
                pipeline=[
                    reader(),
                    MinhashDedupFilter(
                        input_folder=str(work / "remove_ids"),
                        exclusion_writer=JsonlWriter(str(work / "removed")),
                        load_cluster_ids=True,
                    ),
                    JsonlWriter(str(work / "kept")),
                ],
                tasks=args.tasks,
                workers=args.workers,
                logging_dir=str(logs / "filter"),
            ),
        ),
    ]
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    started = time.perf_counter()
    for name, make in stages:
        run_stage(name, make(), timings, cpu)
    total = round(time.perf_counter() - started, 3)

    rows = read_assignments(work / "kept", "kept") + read_assignments(work / "removed", "removed")
    with (work / "assignments.tsv").open("w", encoding="utf-8") as handle:
        for doc_id, status, cluster in rows:
            handle.write(f"{doc_id}\t{status}\t{cluster}\n")
    removed = sum(1 for r in rows if r[1] == "removed")
    summary = {
        "setting": args.setting,
        "language_argument": args.setting if args.setting != "char5" else "CharTokenizer()",
        "tokenizer": tokenizer_desc,
        "config": {
            "n_grams": args.ngrams,
            "num_buckets": args.bands,
            "hashes_per_bucket": args.rows,
            "hash": str(config.hash_config),
        },
        "tasks": {
            "signatures": args.tasks,
            "buckets": args.bands,
            "clustering": 1,
            "filter": args.tasks,
        },
        "workers": args.workers,
        "input_files": len(files),
        "documents": len(rows),
        "kept": len(rows) - removed,
        "removed": removed,
        "stage_seconds": timings,
        "total_seconds": total,
        "stage_cpu_seconds": cpu,
        "total_cpu_seconds": round(sum(cpu.values()), 2),
        "process_tree_cpu_seconds": round(tree_cpu_seconds(), 2),
        "versions": versions(),
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
