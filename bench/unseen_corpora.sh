#!/usr/bin/env bash
# Dedup quality on corpora the defaults were not tuned on: other seeds and
# other mixes of sources.  Usage: bash bench/unseen_corpora.sh [DOCS]
# Writes bench/work/results/unseen-*.json and prints one line per corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${1:-20000}
PY=${PYTHON:-python}
ZHCLEAN=${ZHCLEAN:-zhclean}
mkdir -p bench/work/results
# name seed source-weights ("" = by size, every source)
while read -r name seed weights; do
  corpus=bench/work/unseen-$name-$DOCS
  out=bench/work/unseen-$name-$DOCS-out
  if [ ! -f "$corpus/truth.parquet" ]; then
    $PY bench/make_corpus.py --docs "$DOCS" --seed "$seed" --out "$corpus" \
      ${weights:+--source-weights "$weights"} --force >/dev/null
  fi
  rm -rf "$out"
  PREFECT_HOME=${PREFECT_HOME:-bench/work/prefect-home} $ZHCLEAN run "$corpus/data" -o "$out" --quiet
  $PY bench/score_dedup.py "$out" "$corpus/truth.parquet" --json "bench/work/results/unseen-$name-$DOCS.json" \
    | sed "s/^/$name (seed $seed, sources ${weights:-all by size}): /" | head -40
  rm -rf "$out"
done <<'LIST'
seed2 2
seed3-nonnews 3 reviews=1,manpages=1,libreoffice=1,debian_docs=1
seed4-news 4 peoples_daily=2,seeds=1,debian_handbook=1
LIST
