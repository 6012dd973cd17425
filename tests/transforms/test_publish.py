import json

from transforms.publish import publish
from transforms.work_layout import final_dir


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
