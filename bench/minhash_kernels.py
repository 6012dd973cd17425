"""Why MinHash signatures use a compiled kernel: numba against numpy against datasketch.

Usage::

    python bench/minhash_kernels.py --docs 5000 --repeats 5

On the canonical forms of the first ``--docs`` documents of a benchmark corpus
(``bench/work/corpus-20k-s1``, made by ``bench/make_corpus.py``; any JSON
Lines corpus with ``--corpus``), one process, one core, it times

- **datasketch**: ``MinHash(num_perm=128).update_batch`` per document, fed
  the same 32-bit shingle hashes (on ``--datasketch-docs`` documents), the
  reference;
- **numpy**: the formulation zhclean used before the kernel, kept here as the
  reference for this measurement: hash every n-gram of the batch at once,
  then for each of the 128 permutations one vectorised multiply-add and
  ``np.minimum.reduceat`` over 64 Ki-hash blocks;
- **kernel**: ``transforms.dedup.minhash.code_point_signatures`` (numba).

It checks that numpy and the kernel give the same signatures as datasketch,
bit for bit, and prints documents per second (median of ``--repeats``) and the
ratios measured in the same run.  The kernel's one-off cost per process
(importing numba and loading the cached machine code) is timed apart, in a
fresh interpreter.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transforms.codepoints import texts_from_code_points  # noqa: E402
from transforms.dedup.canonical import canonical_code_points  # noqa: E402
from transforms.dedup.minhash import (  # noqa: E402
    MAX_HASH,
    _fmix32,
    code_point_signatures,
    permutations,
    shingle_hashes,
)

NUM_PERM, NGRAM, SEED = 128, 5, 1
_BLOCK = 1 << 16


def numpy_signatures(texts: list[str]) -> np.ndarray:
    """zhclean's numpy signatures before the kernel (commit 39acae7c), for comparison."""
    hashes, offsets = shingle_hashes(texts, NGRAM)
    out = np.full((len(texts), NUM_PERM), MAX_HASH, dtype=np.uint32)
    a, b = permutations(NUM_PERM, SEED)
    mixed = _fmix32(hashes)
    first, n = 0, len(texts)
    with np.errstate(over="ignore"):
        while first < n:
            last = int(np.searchsorted(offsets, offsets[first] + _BLOCK, side="right")) - 1
            last = min(max(last, first + 1), n)
            lo, hi = offsets[first], offsets[last]
            nonempty = np.flatnonzero(offsets[first + 1 : last + 1] > offsets[first:last])
            if hi > lo:
                block = mixed[lo:hi]
                buffer = np.empty(hi - lo, np.uint32)
                starts = offsets[first:last][nonempty] - lo
                rows = first + nonempty
                for j in range(NUM_PERM):
                    np.multiply(block, a[j], out=buffer)
                    np.add(buffer, b[j], out=buffer)
                    out[rows, j] = np.minimum.reduceat(buffer, starts)
            first = last
    return out


def datasketch_signatures(texts: list[str]) -> np.ndarray:
    """datasketch fed the same 32-bit shingle hashes (hashing is not what is compared)."""
    from datasketch import MinHash

    hashes, offsets = shingle_hashes(texts, NGRAM)
    per_text = [hashes[a:b].tolist() for a, b in itertools.pairwise(offsets)]
    template = MinHash(num_perm=NUM_PERM, seed=SEED)
    rows = []
    for values in per_text:
        minhash = MinHash(
            num_perm=NUM_PERM,
            seed=SEED,
            hashfunc=int,
            permutations=template.permutations,
            scheme="affine32",
        )
        minhash.update_batch(values)
        rows.append(minhash.hashvalues)
    return np.array(rows, dtype=np.uint32)


def load_texts(corpus: Path, docs: int) -> list[str]:
    texts = []
    for path in sorted((corpus / "data").glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                texts.append(record.get("text") or record.get("html") or "")
                if len(texts) == docs:
                    return texts
    return texts


def timed(job, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = job()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def kernel_start_up_seconds() -> float:
    code = (
        "import time; t = time.perf_counter();"
        "from transforms.dedup.minhash import signatures; signatures(['预热'], 5, 16, 1);"
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "bench/work/corpus-20k-s1")
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--datasketch-docs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    cps, bounds = canonical_code_points(load_texts(args.corpus, args.docs))
    texts = texts_from_code_points(cps, bounds)
    code_point_signatures(cps[:10], bounds[:2], NGRAM, NUM_PERM, SEED)  # load the kernel

    kernel_s, kernel = timed(
        lambda: code_point_signatures(cps, bounds, NGRAM, NUM_PERM, SEED), args.repeats
    )
    numpy_s, numpy_sigs = timed(lambda: numpy_signatures(texts), args.repeats)
    few = texts[: args.datasketch_docs]
    datasketch_s, reference = timed(lambda: datasketch_signatures(few), 1)

    assert np.array_equal(kernel, numpy_sigs), "kernel and numpy differ"
    assert np.array_equal(kernel[: len(few)], reference), "kernel and datasketch differ"
    n = len(texts)
    rates = {
        "datasketch update_batch": len(few) / datasketch_s,
        "numpy (reduceat per permutation)": n / numpy_s,
        "compiled kernel (numba)": n / kernel_s,
    }
    print(f"# MinHash signatures, {n} documents, {len(cps) / n:.0f} canonical characters each")
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| implementation | documents/s (one core, median) | vs numpy |")
    print("| --- | ---: | ---: |")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / rates['numpy (reduceat per permutation)']:.2f} |")
    print("bit-identical: kernel == numpy == datasketch (on the first", len(few), "documents)")
    print(f"kernel start-up in a fresh process: {kernel_start_up_seconds():.2f} s")


if __name__ == "__main__":
    main()
