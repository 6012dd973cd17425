import pyarrow as pa
import pytest

from transforms.config import WriteConfig
from transforms.storage import atomic_path, read_json, read_table, write_json, write_parts


def test_parts_hold_at_most_max_rows_and_round_trip(tmp_path):
    table = pa.table({"text": [f"第{i}篇" for i in range(25)]})
    paths = write_parts(table, tmp_path, "part-x", WriteConfig(max_rows_per_file=10))
    assert [p.name for p in paths] == [
        "part-x-00000.parquet",
        "part-x-00001.parquet",
        "part-x-00002.parquet",
    ]
    assert [read_table(p).num_rows for p in paths] == [10, 10, 5]
    assert pa.concat_tables([read_table(p) for p in paths]).equals(table)


def test_an_empty_table_writes_no_part(tmp_path):
    assert (
        write_parts(pa.table({"text": pa.array([], pa.string())}), tmp_path, "p", WriteConfig())
        == []
    )


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
    path = write_parts(table, tmp_path, "p", WriteConfig(row_group_rows=8))[0]
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 4
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_a_write_that_fails_mid_file_leaves_neither_the_file_nor_its_temporary(
    tmp_path, monkeypatch
):
    import errno
    import os

    import transforms.storage as storage

    def disk_full(tmp, destination):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(destination))

    monkeypatch.setattr(storage, "_written", disk_full)
    with pytest.raises(OSError) as caught:
        write_parts(pa.table({"text": ["甲", "乙"]}), tmp_path, "part-x", WriteConfig())
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        write_json({"a": 1}, tmp_path / "stats.json")
    assert list(tmp_path.iterdir()) == []


def test_when_the_temporary_cannot_be_removed_the_write_error_is_the_one_raised(
    tmp_path, monkeypatch
):
    """A folder gone read-only: removing the temporary file fails too, and it keeps its .tmp- name."""
    import errno
    import os
    from pathlib import Path

    import transforms.storage as storage

    def fail(code):
        def raiser(*args, **kwargs):
            raise OSError(code, os.strerror(code))

        return raiser

    monkeypatch.setattr(storage, "_written", fail(errno.ENOSPC))
    monkeypatch.setattr(Path, "unlink", fail(errno.EROFS))
    with pytest.raises(OSError) as caught:
        write_json({"a": 1}, tmp_path / "stats.json")
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    assert [p.name.startswith(storage.TMP_PREFIX) for p in tmp_path.iterdir()] == [True]
