import pyarrow as pa
import pytest

from transforms.config import OutputConfig
from transforms.parquet_io import atomic_path, read_json, read_table, write_json, write_parts


def test_parts_hold_at_most_max_rows_and_round_trip(tmp_path):
    table = pa.table({"text": [f"第{i}篇" for i in range(25)]})
    paths = write_parts(table, tmp_path, "part-x", OutputConfig(max_rows_per_file=10))
    assert [p.name for p in paths] == [
        "part-x-00000.parquet",
        "part-x-00001.parquet",
        "part-x-00002.parquet",
    ]
    assert [read_table(p).num_rows for p in paths] == [10, 10, 5]
    assert pa.concat_tables([read_table(p) for p in paths]).equals(table)


def test_an_empty_table_writes_no_part(tmp_path):
    assert write_parts(pa.table({"text": pa.array([], pa.string())}), tmp_path, "p") == []


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    destination = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(destination) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_json_round_trips_chinese_text(tmp_path):
    path = write_json({"原因": "太短"}, tmp_path / "a.json")
    assert read_json(path) == {"原因": "太短"}
    assert "太短" in path.read_text(encoding="utf-8")


def test_files_are_zstd_compressed_with_bounded_row_groups(tmp_path):
    import pyarrow.parquet as pq

    table = pa.table({"n": list(range(30))})
    path = write_parts(table, tmp_path, "p", OutputConfig(row_group_rows=8))[0]
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 4
    assert meta.row_group(0).column(0).compression == "ZSTD"
