"""Reliability report: every bad input and fault of issue 7, run for real, into bench/RELIABILITY.md.

Usage::

    python bench/reliability.py                      # everything, about 7 minutes on 2 cores
    python bench/reliability.py --fuzz-seconds 120   # fuzz longer

What it does, all with the real ``zhclean run`` command line:

1. writes the bad inputs of ``tests/fixtures/bad_inputs.py`` (the generator
   the tests use, with the folder of 20,000 tiny files) into
   ``bench/work/reliability/inputs/``, one folder per case;
2. runs zhclean on each case's folder, and once on all of them together, as
   a process without root's file powers when ``setpriv`` can drop them (so
   that the mode-000 file fails to open for real), polling the summed
   resident memory of zhclean's process tree; records the exit status, what
   was kept, rejected (by reason, with a detail) and skipped, whether
   ``extracted == kept + rejected``, and whether all that is what the case
   expects;
3. makes faults: a full disk (a small tmpfs, when this machine lets us mount
   one; freed by growing it), the output folder made read-only mid-run and
   before the run (``chmod -R a-w`` seen by a process without root's powers),
   and, in this process, the write errors the tests inject (``ENOSPC`` while
   preparing and while publishing, ``EROFS`` mid-run).  For each: exit
   status, the lines printed, files with a final name that are not whole,
   whether the previous dataset survived, and whether a rerun gives the same
   kept and rejected documents as a clean run;
4. fuzzes extract and the HTML stripper (``tests/transforms/fuzz_driver.py``)
   for ``--fuzz-seconds``; failing inputs are saved as regression fixtures;
5. writes ``bench/RELIABILITY.md`` (every table generated) and the raw
   results to ``bench/work/reliability/results.json``.

A single Prefect server serves every run (``PREFECT_API_URL``), as a user's
own server would, so a run costs seconds rather than a server start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / "work" / "reliability"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH_DIR))

from bench_pipeline import TreeMemoryPoller, machine_info, source_fingerprint  # noqa: E402

from tests.fixtures.bad_inputs import (  # noqa: E402
    MANY_FILES,
    Case,
    write_bad_inputs,
    write_many_files,
)
from tests.flows.corpus import write_jsonl_corpus  # noqa: E402
from tests.flows.reliability_support import (  # noqa: E402
    WriteFault,
    outcome,
    prefect_server,
    read_parts,
    run_cli,
    tree_digest,
    unfinished_files_that_look_finished,
)
from transforms.storage import TMP_PREFIX  # noqa: E402

SETPRIV = shutil.which("setpriv")
DROP_ROOT_POWERS = ["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
SAMPLE = REPO / "data" / "sample"
SAMPLE_OPTIONS = ("--workers", "1", "--shard-max-mb", "0.1", "--quiet")
CORPUS_OPTIONS = ("--shard-max-mb", "0.5", "--workers", "2", "--quiet")


# ------------------------------------------------------------------ running zhclean


def zhclean(*args: str, without_root_powers: bool = True) -> list[str]:
    command = [sys.executable, "-m", "flows.cli", "run", *args]
    if without_root_powers and SETPRIV:
        command = [SETPRIV, *DROP_ROOT_POWERS, *command]
    return command


def run_measured(
    command: list[str], log: Path, on_poll=None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``command``; exit status, wall time, peak summed RSS of its tree, what it printed.

    The command gets its own process group, as a terminal's foreground job
    does; ``on_poll(process)`` is called every 50 ms while it runs.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO, stdout=stdout, stderr=stderr, start_new_session=True, env=env
        )
        poller = TreeMemoryPoller(process.pid)
        poller.start()
        while process.poll() is None:
            if on_poll is not None:
                on_poll(process)
            time.sleep(0.05)
        wall = time.perf_counter() - started
        poller.stop()
    return {
        "command": " ".join(command),
        "pid": process.pid,
        "exit": process.returncode,
        "seconds": round(wall, 1),
        "peak_mib": round(poller.peak_sum / 2**20),
        "stdout": out.read_text(errors="replace"),
        "stderr": err.read_text(errors="replace"),
    }


def read_stats(output: Path) -> dict[str, Any] | None:
    path = output / "stats.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# ------------------------------------------------------------------ bad inputs


def _skipped_by_case_prefix(case: Case, stats: dict[str, Any]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for skipped in stats["skipped_inputs"]:
        reason = skipped["reason"]
        found[next((p for p in case.skipped if reason.startswith(p)), reason)] += 1
    return dict(found)


def _details(output: Path) -> dict[str, str]:
    """One example detail per rejection reason (the first one, in source order)."""
    rejected = read_parts(output / "rejected", ["reason", "detail", "source_path"])
    rejected = rejected.sort_values("source_path", kind="stable")
    return {reason: group.detail.iloc[0] for reason, group in rejected.groupby("reason")}


def run_case(case: Case, folder: Path, output: Path) -> dict[str, Any]:
    shutil.rmtree(output, ignore_errors=True)
    before = tree_digest(folder)
    result = run_measured(
        zhclean(str(folder), "-o", str(output), "--quiet"), WORK / "logs" / case.name
    )
    stats = read_stats(output)
    row: dict[str, Any] = {
        "case": case.name,
        "description": case.description,
        **result,
        "inputs_unchanged": tree_digest(folder) == before,
    }
    if stats is None:
        return {**row, "as_expected": False}
    docs = stats["documents"]
    skipped = _skipped_by_case_prefix(case, stats)
    row.update(
        kept=docs["kept"],
        rejected=stats["rejected_by_reason"],
        skipped=skipped,
        skipped_reasons=sorted({s["reason"] for s in stats["skipped_inputs"]}),
        balanced=docs["balanced"] and docs["extracted"] == docs["kept"] + docs["rejected"],
        details=_details(output),
        as_expected=(
            result["exit"] == 0
            and docs["kept"] == case.kept
            and stats["rejected_by_reason"] == dict(case.rejected)
            and skipped == dict(case.skipped)
        ),
    )
    return row


def run_bad_inputs(include_many: bool) -> list[dict[str, Any]]:
    inputs = WORK / "inputs"
    for leftover in (inputs, WORK / "inputs-outside"):
        if leftover.exists():
            subprocess.run(["chmod", "-R", "u+rwX", str(leftover)], check=False)
            shutil.rmtree(leftover)
    cases = write_bad_inputs(inputs)
    rows = []
    for case in cases:
        print(f"  {case.name}", flush=True)
        rows.append(run_case(case, inputs / case.name, WORK / "out" / case.name))
    print("  all cases in one run", flush=True)
    together = Case(
        "all of the above",
        "every case above in one run",
        kept=sum(c.kept for c in cases),
        rejected=dict(sum((Counter(c.rejected) for c in cases), Counter())),
        skipped=dict(sum((Counter(c.skipped) for c in cases), Counter())),
    )
    rows.append(run_case(together, inputs, WORK / "out" / "all"))
    if include_many:
        print(f"  {MANY_FILES:,} tiny files", flush=True)
        many_root = WORK / "many"
        shutil.rmtree(many_root, ignore_errors=True)
        case = write_many_files(many_root / "many_files", MANY_FILES)
        rows.append(run_case(case, many_root, WORK / "out" / "many_files"))
    return rows


# ------------------------------------------------------------------ faults


def _fault_row(name: str, how: str, run: dict[str, Any], output: Path) -> dict[str, Any]:
    lines = run["stderr"].splitlines()
    leftovers = list(output.rglob(f"{TMP_PREFIX}*")) if output.exists() else []
    traceback_end = lines[-1] if len(lines) > 1 and "Traceback" in run["stderr"] else ""
    return {
        "fault": name,
        "how": how,
        "exit": run["exit"],
        "stderr_lines": len(lines),
        "message": (lines[0] if lines else "").replace(f"{WORK}/", "…/"),
        "one_clear_line": len(lines) == 1 and lines[0].startswith("zhclean: error: "),
        "traceback_ends_with": traceback_end,
        "looks_finished_but_is_not": unfinished_files_that_look_finished(output)
        if output.exists()
        else [],
        "tmp_leftovers": len(leftovers),
        "published": (output / "stats.json").exists(),
    }


def _clean_reference(corpus: Path) -> tuple[Any, dict[str, Any]]:
    output = WORK / "faults" / "clean"
    shutil.rmtree(output, ignore_errors=True)
    run = run_measured(
        zhclean(str(corpus), "-o", str(output), *CORPUS_OPTIONS), WORK / "logs" / "clean"
    )
    assert run["exit"] == 0, run["stderr"]
    return outcome(output), run


def real_disk_full(corpus: Path, reference: Any, needed_bytes: int) -> dict[str, Any]:
    how = "a tmpfs of half the space a clean run needs, as the output folder"
    mount_point = WORK / "faults" / "tmpfs"
    mount_point.mkdir(parents=True, exist_ok=True)
    size_kib = max(512, needed_bytes // 2 // 1024)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        return {
            "fault": "full disk",
            "how": how,
            "skipped": f"cannot mount: {mounted.stderr.strip()}",
        }
    try:
        output = mount_point / "out"
        run = run_measured(
            zhclean(str(corpus), "-o", str(output), *CORPUS_OPTIONS), WORK / "logs" / "disk-full"
        )
        row = _fault_row("full disk", f"{how} ({size_kib:,} KiB)", run, output)
        subprocess.run(["mount", "-o", "remount,size=1g", str(mount_point)], check=True)
        again = run_measured(
            zhclean(str(corpus), "-o", str(output), "--resume", *CORPUS_OPTIONS),
            WORK / "logs" / "disk-full-rerun",
        )
        row["rerun"] = "--resume after the tmpfs was grown to 1 GiB"
        row["rerun_exit"] = again["exit"]
        row["rerun_same_as_clean"] = again["exit"] == 0 and outcome(output) == reference
        return row
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def real_read_only(corpus: Path, reference: Any, mid_run: bool) -> dict[str, Any]:
    name = (
        "output folder made read-only mid-run"
        if mid_run
        else "output folder read-only from the start"
    )
    if not SETPRIV:
        return {
            "fault": name,
            "how": "chmod",
            "skipped": "setpriv is not installed (root ignores chmod)",
        }
    output = WORK / "faults" / ("read-only-mid-run" if mid_run else "read-only")
    if output.exists():
        subprocess.run(["chmod", "-R", "u+w", str(output)], check=False)
        shutil.rmtree(output)
    output.mkdir(parents=True)
    made = {"done": not mid_run}
    if not mid_run:
        subprocess.run(["chmod", "-R", "a-w", str(output)], check=True)

    def chmod_when_a_shard_is_prepared(process: subprocess.Popen) -> None:
        if not made["done"] and list(output.glob(".work/*/shards/*/prepared.json")):
            subprocess.run(["chmod", "-R", "a-w", str(output)], check=True)
            made["done"] = True

    how = (
        "chmod -R a-w on the output folder once the first shard is prepared"
        if mid_run
        else "chmod -R a-w on the (empty) output folder before the run"
    ) + "; zhclean runs without CAP_DAC_OVERRIDE (setpriv)"
    run = run_measured(
        zhclean(str(corpus), "-o", str(output), *CORPUS_OPTIONS),
        WORK / "logs" / output.name,
        on_poll=chmod_when_a_shard_is_prepared,
    )
    row = _fault_row(name, how, run, output)
    row["fault_met"] = made["done"]
    subprocess.run(["chmod", "-R", "u+w", str(output)], check=True)
    again = run_measured(
        zhclean(str(corpus), "-o", str(output), *CORPUS_OPTIONS),
        WORK / "logs" / f"{output.name}-rerun",
    )
    row["rerun"] = "the same command once the folder is writable again"
    row["rerun_exit"] = again["exit"]
    row["rerun_same_as_clean"] = again["exit"] == 0 and outcome(output) == reference
    return row


def _worker_processes(pid: int) -> list[int]:
    """The worker processes ``pid`` started (multiprocessing's spawned children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return sorted(found)


def _left_running(session: int) -> int:
    """Live processes still in the process group of a run that ended (its workers, say)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += int(fields[3]) == session and fields[0] != "Z"
    return count


def stopped_runs(corpus: Path, reference: Any) -> list[dict[str, Any]]:
    """Ctrl-C, a SIGKILLed run and a SIGKILLed worker, each once the first shard is prepared."""
    rows = []
    scenarios = [
        (
            "interrupt (Ctrl-C)",
            "SIGINT to the run's process group, as a terminal's Ctrl-C, once the first shard is prepared",
            "interrupt",
        ),
        (
            "run killed",
            "SIGKILL to the run's whole process group once the first shard is prepared",
            "kill-run",
        ),
        (
            "worker process killed mid-shard",
            "SIGKILL to one worker process once the first shard is prepared",
            "kill-worker",
        ),
    ]
    for name, how, kind in scenarios:
        output = WORK / "faults" / kind
        shutil.rmtree(output, ignore_errors=True)
        made: dict[str, Any] = {"done": False}

        def stop_when_a_shard_is_prepared(
            process: subprocess.Popen, kind=kind, made=made, output=output
        ) -> None:
            if made["done"] or not list(output.glob(".work/*/shards/*/prepared.json")):
                return
            if kind == "interrupt":
                os.killpg(process.pid, signal.SIGINT)
            elif kind == "kill-run":
                os.killpg(process.pid, signal.SIGKILL)
            else:
                workers = _worker_processes(process.pid)
                if not workers:
                    return
                os.kill(workers[0], signal.SIGKILL)
            made.update(done=True, at=time.perf_counter())

        run = run_measured(
            zhclean(str(corpus), "-o", str(output), *CORPUS_OPTIONS),
            WORK / "logs" / kind,
            on_poll=stop_when_a_shard_is_prepared,
        )
        row = _fault_row(name, how, run, output)
        row["fault_met"] = made["done"]
        if kind == "kill-run":
            row["one_clear_line"] = None  # a SIGKILLed process prints nothing
        time.sleep(2)  # a worker checks every second whether its run is still there
        row["processes_left"] = _left_running(run["pid"])
        if kind == "kill-worker":
            row.update(rerun="— (the run went on)", rerun_exit="—")
            row["rerun_same_as_clean"] = run["exit"] == 0 and outcome(output) == reference
        else:
            again = run_measured(
                zhclean(str(corpus), "-o", str(output), "--resume", *CORPUS_OPTIONS),
                WORK / "logs" / f"{kind}-rerun",
            )
            row["rerun"] = "the same command with --resume"
            row["rerun_exit"] = again["exit"]
            row["rerun_same_as_clean"] = again["exit"] == 0 and outcome(output) == reference
        rows.append(row)
    return rows


def injected_faults() -> list[dict[str, Any]]:
    """The write errors of tests/flows/test_faults.py, injected into runs in this process."""
    import errno

    import transforms.storage as storage

    rows = []
    base = WORK / "faults" / "injected"
    shutil.rmtree(base, ignore_errors=True)
    clean = run_cli(str(SAMPLE), "-o", str(base / "clean"), *SAMPLE_OPTIONS)
    assert clean.status == 0, clean.stderr
    reference = outcome(base / "clean")
    scenarios = [
        (
            "disk full while preparing shards",
            "ENOSPC on every write once the first shard is prepared",
            WriteFault(errno.ENOSPC, armed_by=lambda d: d.name == "prepared.json"),
            ("--resume",),
            False,
        ),
        (
            "output folder read-only mid-run",
            "EROFS on every write of the finishing step (after deduplication)",
            WriteFault(errno.EROFS, matches=lambda d: "final" in d.parts),
            (),
            False,
        ),
        (
            "disk full while publishing",
            "ENOSPC on writing stats.json, over a dataset published before",
            WriteFault(errno.ENOSPC, matches=lambda d: d.name == "stats.json"),
            (),
            True,
        ),
    ]
    for name, how, fault, rerun_options, previous in scenarios:
        output = base / name.replace(" ", "-")
        if previous:
            assert run_cli(str(SAMPLE), "-o", str(output), *SAMPLE_OPTIONS).status == 0
            kept_before = tree_digest(output / "data")
            stats_before = (output / "stats.json").read_bytes()
        original = storage._written
        storage._written = fault
        try:
            started = time.perf_counter()
            run = run_cli(str(SAMPLE), "-o", str(output), *SAMPLE_OPTIONS)
            seconds = time.perf_counter() - started
        finally:
            storage._written = original
        row = _fault_row(
            name,
            f"injected: {how} (transforms.storage._written)",
            {"exit": run.status, "stderr": run.stderr},
            output,
        )
        row["seconds"] = round(seconds, 1)
        row["fault_met"] = bool(fault.failed)
        if previous:
            row["previous_dataset_intact"] = (
                tree_digest(output / "data") == kept_before
                and (output / "stats.json").read_bytes() == stats_before
            )
        again = run_cli(str(SAMPLE), "-o", str(output), *rerun_options, *SAMPLE_OPTIONS)
        row["rerun"] = f"the same command{' with --resume' if rerun_options else ''}, fault gone"
        row["rerun_exit"] = again.status
        row["rerun_same_as_clean"] = again.status == 0 and outcome(output) == reference
        rows.append(row)
    return rows


def run_faults() -> list[dict[str, Any]]:
    corpus = WORK / "corpus"
    if not corpus.exists():
        write_jsonl_corpus(corpus, files=24, docs_per_file=150)
    reference, clean = _clean_reference(corpus)
    needed = sum(p.stat().st_size for p in (WORK / "faults" / "clean").rglob("*") if p.is_file())
    documents = len(reference[0]) + len(reference[1])
    clean_row = _fault_row(
        "none: the clean run every rerun is compared with",
        f"{len(list(corpus.glob('*.jsonl')))} JSON Lines files, {documents:,} documents",
        clean,
        WORK / "faults" / "clean",
    )
    clean_row.update(rerun="—", rerun_exit="—", rerun_same_as_clean=None)
    rows = [
        clean_row,
        real_disk_full(
            corpus, reference, needed * 3
        ),  # .work holds about twice the output at its peak
        real_read_only(corpus, reference, mid_run=True),
        real_read_only(corpus, reference, mid_run=False),
    ]
    rows += stopped_runs(corpus, reference)
    rows += injected_faults()
    return rows


# ------------------------------------------------------------------ security

SECRET_KEY = "zhcleanReliabilitySecret0123456789abcdef"  # a fake storage credential


def _holds(folder: Path, needle: bytes) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in sorted(folder.rglob("*"))
        if p.is_file() and needle in p.read_bytes()
    ]


def run_security(corpus: Path) -> list[dict[str, Any]]:
    """A release manifest that names a path outside the release, and a credential in the
    environment of run, release, publish and verify."""
    base = WORK / "security"
    shutil.rmtree(base, ignore_errors=True)
    output, target = base / "out", base / "published"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIAZHCLEANRELIABILITY",
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    cli = [sys.executable, "-m", "flows.cli"]
    steps = [
        zhclean(str(corpus), "-o", str(output), *CORPUS_OPTIONS, without_root_powers=False),
        [*cli, "release", "-o", str(output), "--version", "v1", "--quiet"],
        [*cli, "publish", str(output / "releases" / "v1"), target.as_uri()],
        [*cli, "verify", (target / "v1").as_uri()],
    ]
    printed, exits = [], []
    for i, command in enumerate(steps):
        run = run_measured(command, WORK / "logs" / f"security-{i}", env=env)
        exits.append(run["exit"])
        printed.append(run["stdout"] + run["stderr"])
    needle = SECRET_KEY.encode()
    # The search must be able to find it: a planted copy (beside the outputs) is found.
    planted = base / "control" / "planted.json"
    planted.parent.mkdir(parents=True)
    planted.write_text(json.dumps({"key": SECRET_KEY}), encoding="utf-8")
    control_found = _holds(planted.parent, needle) == ["planted.json"]
    prefect_home = Path(os.environ["PREFECT_HOME"])
    found = (
        _holds(output, needle)
        + _holds(target, needle)
        + [f"PREFECT_HOME/{p}" for p in _holds(prefect_home, needle)]  # logs, artifacts
        + [f"output of step {i + 1}" for i, text in enumerate(printed) if SECRET_KEY in text]
    )
    rows = [
        {
            "check": "no storage credential written anywhere",
            "how": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set for `zhclean run`, `release`, "
            "`publish` (to a file:// URL) and `verify`; the secret searched for in every file of "
            "the dataset, the release, the published copy, Prefect's database and logs "
            "(PREFECT_HOME: run logs, artifacts), and in everything printed",
            "outcome": f"exits {exits}; found in: {', '.join(found) or 'nothing'} (a planted "
            f"copy {'was' if control_found else 'was **not**'} found by the same search)",
            "as_expected": exits == [0, 0, 0, 0] and not found and control_found,
        }
    ]

    release = output / "releases" / "v1"
    outside = base / "outside.txt"
    outside.write_text("not part of the release\n", encoding="utf-8")
    tampered = base / "tampered"
    shutil.copytree(release, tampered)
    manifest_path = tampered / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    first = manifest["files"][0]
    first["path"] = "../outside.txt"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    run = run_measured([*cli, "verify", str(tampered)], WORK / "logs" / "security-dotdot")
    message = (run["stderr"].splitlines() or [""])[0]
    rows.append(
        {
            "check": "`..` in a release manifest",
            "how": "a copy of the release whose manifest.json lists `../outside.txt` (a file that "
            "exists beside the release), checked with `zhclean verify`",
            "outcome": f"exit {run['exit']}: `{_cell(message, 160)}`",
            "as_expected": run["exit"] == 1 and "unsafe path" in message,
        }
    )
    return rows


# ------------------------------------------------------------------ fuzzing


def run_fuzz(seconds: float) -> dict[str, Any]:
    from tests.transforms.fuzz_driver import save_crashes

    work = WORK / "fuzz"
    shutil.rmtree(work, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "tests.transforms.fuzz_driver",
        "--seconds",
        str(seconds),
        "--work",
        str(work),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=seconds + 300)
    saved = save_crashes(work, REPO / "tests" / "fixtures" / "regressions")
    summary = json.loads((work / "summary.json").read_text())
    return {
        "seconds": seconds,
        "seed": summary["seed"],
        "rounds": summary["rounds"],
        "failures": len(summary["crashes"]),
        "exit": done.returncode,
        "saved": [p.name for p in saved],
    }


# ------------------------------------------------------------------ report


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items())) or "—"


def _cell(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split()).replace(f"{WORK}/", "…/").replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _yes(value: Any) -> str:
    return {True: "yes", False: "**no**", None: "—"}.get(value, str(value))


def render(results: dict[str, Any]) -> str:
    from transforms.config import ExtractConfig

    extract = ExtractConfig()
    machine = results["machine"]
    lines = [
        "# Reliability: bad inputs and faults",
        "",
        "Generated by `bench/reliability.py` (do not edit by hand): every row is a real "
        "`zhclean run`; the inputs come from `tests/fixtures/bad_inputs.py`, the generator the "
        "tests use.",
        "",
        f"- command: `{results['command']}`",
        f"- date: {results['date']}",
        f"- machine: {machine['nproc']} cores ({machine['cpu_model']}), {machine['ram_gib']} GiB RAM, "
        f"Linux {machine['kernel']}, Python {machine['python']}, zhclean {machine['zhclean_version']} "
        f"(code fingerprint {results['source']['sha256']})",
        f"- runs: {results['privileges']}",
        *[f"- part run again: {line}" for line in results.get("partial_reruns", [])],
        f"- limits (defaults, `extract.*` in the README): `max_record_bytes` = {extract.max_record_bytes:,} "
        f"bytes, `max_file_bytes` = {extract.max_file_bytes:,} bytes",
        "",
        "## Bad inputs",
        "",
        "One run per input folder (and one over all of them). *Balanced*: `stats.json` has "
        "`extracted == kept + rejected`. *As expected*: exit 0 and the kept, rejected and skipped "
        "counts the generator states. *Peak memory*: summed resident memory of zhclean's processes "
        "(the command and its 2 worker processes; the Prefect server is not counted).",
        "",
        "| input | exit | kept | rejected (reason) | skipped inputs | balanced | inputs unchanged | as expected | example detail | peak memory | seconds |",
        "|---|---:|---:|---|---|---|---|---|---|---:|---:|",
    ]
    for row in results["bad_inputs"]:
        detail = "; ".join(f"{r}: {d}" for r, d in row.get("details", {}).items()) or "—"
        skipped = "; ".join(row.get("skipped_reasons", [])) or "—"
        lines.append(
            f"| **{row['case']}**: {_cell(row['description'], 90)} | {row['exit']} | "
            f"{row.get('kept', '—'):,} | {_reasons(row.get('rejected', {}))} | {_cell(skipped, 120)} | "
            f"{_yes(row.get('balanced'))} | {_yes(row['inputs_unchanged'])} | {_yes(row['as_expected'])} | "
            f"{_cell(detail, 140)} | {row['peak_mib']:,} MiB | {row['seconds']} |"
        )
    lines += [
        "",
        "## Faults",
        "",
        "*Looks finished but is not*: files under the output folder with a final name (not "
        "`.tmp-…`) that do not read whole (Parquet) or parse (JSON). *Rerun = clean run*: the "
        "rerun's kept doc ids and rejected (doc id, reason, duplicate of) equal a clean run's.",
        "",
        "| fault | made by | exit | one clear line | printed (lines: first line … last line of a traceback) "
        "| looks finished but is not | `.tmp-` files left | published | previous dataset intact "
        "| rerun | rerun exit | rerun = clean run |",
        "|---|---|---:|---|---|---|---:|---|---|---|---:|---|",
    ]
    for row in results["faults"]:
        if "skipped" in row:
            lines.append(
                f"| {row['fault']} | {row['how']} | not run: {_cell(row['skipped'])} ||||||||||"
            )
            continue
        met = "" if row.get("fault_met", True) else " (**the fault was never met**)"
        printed = f"{row['stderr_lines']}"
        if row["message"]:
            printed += f": `{_cell(row['message'], 150)}`"
        if row.get("traceback_ends_with"):
            printed += f" … `{_cell(row['traceback_ends_with'], 150)}`"
        clear = "—" if row["exit"] == 0 else _yes(row.get("one_clear_line"))
        if row["exit"] == 130:
            clear = f"{clear} (exit 130: interrupted)"
        lines.append(
            f"| {row['fault']}{met} | {_cell(row['how'], 150)} | {row['exit']} | {clear} | "
            f"{printed} | {len(row['looks_finished_but_is_not']) or 'none'} | "
            f"{row['tmp_leftovers']} | {'yes' if row['published'] else 'no'} | "
            f"{_yes(row.get('previous_dataset_intact'))} | {row['rerun']} | {row['rerun_exit']} | "
            f"{_yes(row['rerun_same_as_clean'])} |"
        )
    if any("processes_left" in row for row in results["faults"]):
        lines += [
            "",
            "Processes left in the run's process group two seconds after it ended: "
            + ", ".join(
                f"{row['fault']}: {row['processes_left']}"
                for row in results["faults"]
                if "processes_left" in row
            )
            + ".",
        ]
    if results.get("security"):
        lines += [
            "",
            "## Security",
            "",
            "| check | made by | outcome | as expected |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {row['check']} | {_cell(row['how'], 400)} | {_cell(row['outcome'], 200)} | "
            f"{_yes(row['as_expected'])} |"
            for row in results["security"]
        ]
    fuzz = results.get("fuzz")
    if fuzz:
        lines += [
            "",
            "## Fuzzing",
            "",
            "| what | seconds | seed | inputs tried | failures | saved as regression fixtures |",
            "|---|---:|---:|---:|---:|---|",
            f"| extract (every format) and strip_html, mutations of the sample dumps "
            f"(`tests/transforms/fuzz_driver.py`) | {fuzz['seconds']:.0f} | {fuzz['seed']} | "
            f"{fuzz['rounds']['extract']:,} extract, {fuzz['rounds']['html']:,} strip_html | "
            f"{fuzz['failures']} | {', '.join(fuzz['saved']) or 'none'} |",
        ]
    lines.append("")
    return "\n".join(lines)


def run_only(args: argparse.Namespace) -> int:
    """One part again, merged into the last results (which record when each part ran)."""
    os.environ.setdefault("PREFECT_HOME", str(BENCH_DIR / "work" / "prefect-home"))
    results = json.loads((WORK / "results.json").read_text(encoding="utf-8"))
    with prefect_server():
        if args.only == "bad-inputs":
            results["bad_inputs"] = run_bad_inputs(include_many=not args.no_many_files)
        elif args.only == "faults":
            results["faults"] = run_faults()
        elif args.only == "security":
            if not (WORK / "corpus").exists():
                write_jsonl_corpus(WORK / "corpus", files=24, docs_per_file=150)
            results["security"] = run_security(WORK / "corpus")
    if args.only == "fuzz":
        results["fuzz"] = run_fuzz(args.fuzz_seconds)
    command = f"python bench/reliability.py --only {args.only}"
    results.setdefault("partial_reruns", []).append(
        f"`{command}` on {datetime.now(UTC).isoformat(timespec='seconds')} "
        f"(code fingerprint {source_fingerprint()['sha256']})"
    )
    (WORK / "results.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1, default=str)
    )
    args.results_md.write_text(render(results), encoding="utf-8")
    print(f"wrote {args.results_md}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fuzz-seconds", type=float, default=60)
    parser.add_argument("--no-many-files", action="store_true", help="leave out the 20,000 files")
    parser.add_argument("--results-md", type=Path, default=BENCH_DIR / "RELIABILITY.md")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help=f"only write the Markdown again from the last results ({WORK / 'results.json'})",
    )
    parser.add_argument(
        "--only",
        choices=["bad-inputs", "faults", "security", "fuzz"],
        help="run this part only; the other parts come from the last results",
    )
    args = parser.parse_args(argv)
    if args.only:
        return run_only(args)
    if args.render_only:
        results = json.loads((WORK / "results.json").read_text(encoding="utf-8"))
        args.results_md.write_text(render(results), encoding="utf-8")
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(BENCH_DIR / "work" / "prefect-home"))
    started = datetime.now(UTC)
    privileges = (
        "as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (`setpriv "
        + " ".join(DROP_ROOT_POWERS)
        + "`), so file permissions apply as to any user"
        if SETPRIV
        else "as root (setpriv missing): a mode-000 file is readable"
    )
    results: dict[str, Any] = {
        "command": "python bench/reliability.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": started.isoformat(timespec="seconds"),
        "machine": machine_info(),
        "source": source_fingerprint(),
        "privileges": privileges,
    }
    with prefect_server():
        print("bad inputs", flush=True)
        results["bad_inputs"] = run_bad_inputs(include_many=not args.no_many_files)
        print("faults", flush=True)
        results["faults"] = run_faults()
        print("security", flush=True)
        results["security"] = run_security(WORK / "corpus")
    if args.fuzz_seconds > 0:
        print("fuzzing", flush=True)
        results["fuzz"] = run_fuzz(args.fuzz_seconds)
    (WORK / "results.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1, default=str)
    )
    args.results_md.write_text(render(results), encoding="utf-8")
    print(f"wrote {args.results_md}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
