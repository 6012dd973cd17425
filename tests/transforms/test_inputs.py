import os
from pathlib import Path

import pytest

from transforms.inputs import InputError, discover_inputs, plan_shards


def make(path: Path, text: str = "内容") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_folders_are_searched_recursively_in_sorted_order(tmp_path):
    make(tmp_path / "b" / "2.txt")
    make(tmp_path / "a.jsonl")
    make(tmp_path / "b" / "1.html")
    found = discover_inputs([tmp_path])
    assert [f.source_path for f in found.files] == ["a.jsonl", "b/1.html", "b/2.txt"]
    assert [f.source_format for f in found.files] == ["jsonl", "html", "txt"]


def test_listing_order_does_not_change_the_file_order(tmp_path):
    first, second = make(tmp_path / "x.txt"), make(tmp_path / "y.txt")
    assert discover_inputs([second, first]).files == discover_inputs([first, second]).files


def test_unsupported_files_in_folders_are_skipped_and_reported(tmp_path):
    make(tmp_path / "notes.docx")
    make(tmp_path / "ok.txt")
    found = discover_inputs([tmp_path])
    assert [f.source_path for f in found.files] == ["ok.txt"]
    assert found.skipped[0].reason == "unsupported file type"


def test_missing_input_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        discover_inputs([tmp_path / "nope"])


def test_an_unsupported_file_named_directly_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="unsupported input file type"):
        discover_inputs([make(tmp_path / "a.pdf")])


def test_the_output_folder_is_never_read_as_input(tmp_path):
    make(tmp_path / "in.txt")
    make(tmp_path / "output" / "old.jsonl")
    found = discover_inputs([tmp_path], exclude=tmp_path / "output")
    assert [f.source_path for f in found.files] == ["in.txt"]


def test_symlink_out_of_the_root_and_link_loops_are_skipped(tmp_path):
    outside = make(tmp_path / "outside" / "secret.txt")
    root = tmp_path / "root"
    make(root / "ok.txt")
    os.symlink(outside, root / "escape.txt")
    os.symlink(root / "loop.txt", root / "loop.txt")
    os.symlink(root, root / "sub")  # a folder link is not followed at all
    found = discover_inputs([root])
    assert [f.source_path for f in found.files] == ["ok.txt"]
    assert {s.reason for s in found.skipped} == {
        "symbolic link points outside the input root",
        "broken symbolic link or loop",
    }


def test_small_files_are_grouped_into_shards_and_big_ones_stand_alone(tmp_path):
    for name, size in [("a.txt", 10), ("b.txt", 10), ("c.txt", 100), ("d.txt", 5)]:
        make(tmp_path / name, "x" * size)
    shards = plan_shards(discover_inputs([tmp_path]).files, max_bytes=25)
    assert [[f.source_path for f in s.files] for s in shards] == [
        ["a.txt", "b.txt"],
        ["c.txt"],
        ["d.txt"],
    ]
    assert len({s.shard_id for s in shards}) == 3


def test_shard_ids_are_stable_until_a_file_changes(tmp_path):
    path = make(tmp_path / "a.txt")
    before = plan_shards(discover_inputs([tmp_path]).files, 1 << 20)[0].shard_id
    assert plan_shards(discover_inputs([tmp_path]).files, 1 << 20)[0].shard_id == before
    path.write_text("变了的内容", encoding="utf-8")
    assert plan_shards(discover_inputs([tmp_path]).files, 1 << 20)[0].shard_id != before
