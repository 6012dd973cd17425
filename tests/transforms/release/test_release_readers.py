"""A release reads the same with pandas, pyarrow.dataset, DuckDB and Hugging Face datasets."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.transforms.release.release_support import build_dataset
from transforms.config import PipelineConfig
from transforms.release.build import create_release


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    dataset = build_dataset(tmp_path_factory.mktemp("readers") / "out")
    for i, row in enumerate(dataset.kept):  # a words column with values, lists and nulls
        row["words"] = [row["text"][:2], row["text"][2:5]] if i % 2 else None
    dataset.write()
    # Several files with several row groups, as a large release would have.
    config = PipelineConfig.model_validate(
        {"write": {"max_rows_per_file": 15, "row_group_rows": 4}}
    )
    made = create_release(dataset.root, "v1", config, include_rejected=True)
    assert len(made.files("data")) >= 3
    return made


@pytest.fixture(scope="module")
def expected(release) -> list[dict]:
    files = [release.path / f["path"] for f in release.files("data")]
    return canonical(pa.concat_tables([pq.read_table(f) for f in files]))


def canonical(table: pa.Table) -> list[dict]:
    """Rows as Python values, in doc_id order, whatever reader produced the table."""
    return table.sort_by("doc_id").to_pylist()


def test_pandas(release, expected):
    frame = pd.read_parquet(release.path / "data")
    assert len(frame) == release.documents
    assert canonical(pa.Table.from_pandas(frame, preserve_index=False)) == expected


def test_pyarrow_dataset(release, expected):
    dataset = ds.dataset(release.path / "data", format="parquet")
    assert canonical(dataset.to_table()) == expected
    batches = list(dataset.to_batches(batch_size=4))  # streaming, one row group at a time
    assert sum(b.num_rows for b in batches) == release.documents


def test_duckdb(release, expected):
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        table = con.sql(
            f"SELECT * FROM read_parquet('{release.path}/data/*.parquet')"
        ).to_arrow_table()
        count = con.execute(f"SELECT count(*) FROM '{release.path}/data/*.parquet'").fetchone()[0]
    assert count == release.documents
    assert canonical(table) == expected


@pytest.fixture
def offline_hf(tmp_path, monkeypatch):
    """Hugging Face libraries offline, with every cache under tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets
    import huggingface_hub.constants

    # The flags are read at import time; another test may have imported them first.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    datasets.disable_progress_bars()
    return tmp_path / "hf-cache"


def test_hugging_face_datasets(release, expected, offline_hf):
    from datasets import load_dataset

    loaded = load_dataset(
        "parquet", data_dir=str(release.path / "data"), split="train", cache_dir=str(offline_hf)
    )
    assert loaded.num_rows == release.documents
    assert canonical(loaded.data.table) == expected


def test_hugging_face_datasets_follows_the_card_configs(release, expected, offline_hf):
    from datasets import load_dataset

    # The release folder itself: the card's YAML says data/ is the default config
    # and rejected/ another one.
    default = load_dataset(str(release.path), split="train", cache_dir=str(offline_hf))
    assert canonical(default.data.table) == expected
    rejected = load_dataset(str(release.path), "rejected", split="train", cache_dir=str(offline_hf))
    assert rejected.num_rows == release.manifest["documents"]["rejected"]
    assert set(rejected.column_names) >= {"reason", "duplicate_of", "similarity"}
