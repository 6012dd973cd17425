import json

from transforms.engine.commit import publish
from transforms.engine.work_layout import final_dir


def stage(work, name, files):
    folder = final_dir(work) / name
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f).write_text(f)


def test_published_folders_replace_the_old_ones_whole(tmp_path):
    output, work = tmp_path / "out", tmp_path / "out" / ".work" / "k"
    (output / "data").mkdir(parents=True)
    (output / "data" / "old-run.parquet").write_text("old")
    stage(work, "data", ["part-a.parquet", "part-b.parquet"])
    stage(work, "rejected", ["part-a.parquet"])
    stats = publish(work, output, {"documents": {"kept": 2}})
    assert sorted(p.name for p in (output / "data").iterdir()) == [
        "part-a.parquet",
        "part-b.parquet",
    ]
    assert [p.name for p in (output / "rejected").iterdir()] == ["part-a.parquet"]
    assert json.loads(stats.read_text()) == {"documents": {"kept": 2}}
    assert not list(work.glob("retired-*"))


def test_a_run_with_nothing_rejected_still_publishes_an_empty_rejected_folder(tmp_path):
    output, work = tmp_path / "out", tmp_path / "w"
    stage(work, "data", ["part-a.parquet"])
    publish(work, output, {})
    assert (output / "rejected").is_dir() and not list((output / "rejected").iterdir())


def test_a_full_disk_when_publishing_leaves_the_previous_dataset_as_it_was(tmp_path, monkeypatch):
    """stats.json is the one write of a publish; it comes before anything is replaced."""
    import errno
    import os

    import pytest

    import transforms.storage as storage

    output, work = tmp_path / "out", tmp_path / "out" / ".work" / "k"
    (output / "data").mkdir(parents=True)
    (output / "data" / "old.parquet").write_text("old")
    (output / "stats.json").write_text('{"run_id": "old"}')
    stage(work, "data", ["new.parquet"])

    def disk_full(tmp, destination):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(destination))

    monkeypatch.setattr(storage, "_written", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        publish(work, output, {"run_id": "new"})
    assert [p.name for p in (output / "data").iterdir()] == ["old.parquet"]
    assert json.loads((output / "stats.json").read_text()) == {"run_id": "old"}
    assert not list(output.rglob(".tmp-*"))


def test_stats_json_is_renamed_in_after_the_folders(tmp_path, monkeypatch):
    """A publish stopped between the renames leaves no stats.json that belongs to other data."""
    import pytest

    import transforms.engine.commit as publish_module

    output, work = tmp_path / "out", tmp_path / "out" / ".work" / "k"
    (output / "data").mkdir(parents=True)
    (output / "stats.json").write_text('{"run_id": "old"}')
    stage(work, "data", ["new.parquet"])
    real_rmtree = publish_module.shutil.rmtree

    def crash_after_first_swap(path, *args, **kwargs):
        real_rmtree(path, *args, **kwargs)
        raise KeyboardInterrupt  # stopped right after data/ was swapped in

    monkeypatch.setattr(publish_module.shutil, "rmtree", crash_after_first_swap)
    with pytest.raises(KeyboardInterrupt):
        publish(work, output, {"run_id": "new"})
    assert [p.name for p in (output / "data").iterdir()] == ["new.parquet"]
    assert not (output / "stats.json").exists()
