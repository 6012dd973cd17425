import os
from pathlib import Path

import pytest

from tests.paths import REPO
from transforms.engine.inputs import InputError, discover_inputs, plan_shards


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
    assert {Path(s.path).name: s.reason for s in found.skipped} == {
        "escape.txt": "symbolic link points outside the input root",
        "loop.txt": "broken symbolic link or loop",
        "sub": "symbolic link to a folder (not followed)",
    }


def test_a_named_pipe_is_skipped_without_being_opened(tmp_path):
    make(tmp_path / "ok.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it for reading would block until a writer comes
    found = discover_inputs([tmp_path])
    assert [f.source_path for f in found.files] == ["ok.txt"]
    assert [(Path(s.path).name, s.reason) for s in found.skipped] == [
        ("pipe.txt", "not a regular file (a named pipe)")
    ]
    with pytest.raises(InputError, match=r"pipe\.txt is not a regular file \(a named pipe\)"):
        discover_inputs([tmp_path / "pipe.txt"])


def test_a_file_that_cannot_be_opened_is_skipped_with_the_os_error(tmp_path, monkeypatch):
    """Tests run as root, whom permissions do not stop: the open itself is made to fail."""
    import errno

    import transforms.engine.inputs as inputs

    make(tmp_path / "ok.txt")
    locked = make(tmp_path / "locked.txt")

    def open_failing_for_locked(path, *args, **kwargs):
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(inputs, "open", open_failing_for_locked, raising=False)
    found = discover_inputs([tmp_path])
    assert [f.source_path for f in found.files] == ["ok.txt"]
    assert [(Path(s.path).name, s.reason) for s in found.skipped] == [
        ("locked.txt", "cannot be read (Permission denied)")
    ]
    with pytest.raises(InputError, match=r"locked\.txt cannot be read \(Permission denied\)"):
        discover_inputs([locked])


def test_a_file_without_read_permission_is_skipped_for_a_process_without_root_powers(tmp_path):
    """The real thing: discovery in a process stripped of CAP_DAC_OVERRIDE meets EACCES."""
    import shutil
    import subprocess
    import sys

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    make(tmp_path / "ok.txt")
    make(tmp_path / "locked.txt").chmod(0)
    code = (
        "import sys; from pathlib import Path; from transforms.engine.inputs import discover_inputs; "
        "found = discover_inputs([Path(sys.argv[1])]); "
        "print([f.source_path for f in found.files], [s.reason for s in found.skipped])"
    )
    drop = ["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
    done = subprocess.run(
        [setpriv, *drop, sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode != 0 and "setpriv" in done.stderr:
        pytest.skip(f"cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ok.txt'] ['cannot be read (Permission denied)']"


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
