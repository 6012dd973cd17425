"""Command-line behaviour that needs no flow run: help, usage errors, flag mapping."""

import pytest

from flows.cli import build_parser, main, overrides_from_args


def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return exit_info.value.code, capsys.readouterr()


def test_help_lists_every_run_option(capsys):
    code, out = run_cli(capsys, "run", "--help")
    assert code == 0
    for option in [
        "--output",
        "--config",
        "--workers",
        "--min-chars",
        "--min-chinese-ratio",
        "--t2s",
        "--no-dedup",
        "--threshold",
        "--num-perm",
        "--bands",
        "--rows",
        "--ngram",
        "--words",
        "--word-segmenter",
        "--shard-max-mb",
        "--quiet",
    ]:
        assert option in out.out


def test_top_level_help_names_the_run_command(capsys):
    code, out = run_cli(capsys, "--help")
    assert code == 0 and "run" in out.out


def test_unknown_option_exits_2_with_one_line(capsys):
    code, out = run_cli(capsys, "run", "--bogus")
    assert code == 2
    assert out.err.count("\n") == 1 and "unrecognized arguments: --bogus" in out.err
    assert "Traceback" not in out.err


def test_missing_input_exits_2_with_one_line(capsys, tmp_path):
    assert main(["run", str(tmp_path / "missing"), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "input path does not exist" in err


def test_unreadable_config_exits_2_with_one_line(capsys, tmp_path):
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config file not found" in err


def test_invalid_flag_value_exits_2_naming_the_setting(capsys):
    assert main(["run", "--threshold", "1.5"]) == 2
    assert "dedup.threshold" in capsys.readouterr().err


def test_flags_map_onto_config_sections():
    args = build_parser().parse_args(
        ["run", "in", "--min-chars", "10", "--no-dedup", "--t2s", "--shard-max-mb", "1", "--words"]
    )
    assert overrides_from_args(args) == {
        "inputs": ["in"],
        "filter": {"min_chars": 10},
        "dedup": {"enabled": False},
        "normalize": {"traditional_to_simplified": True},
        "run": {"shard_max_bytes": 1048576},
        "segment": {"words": True},
    }


def test_the_traceback_goes_to_a_temporary_file_when_the_output_cannot_take_it(tmp_path):
    from flows.cli import _write_error_log

    not_a_folder = tmp_path / "output"
    not_a_folder.write_text("a file where the output folder should be")
    try:
        raise RuntimeError("disk full")
    except RuntimeError:
        log = _write_error_log(not_a_folder)
    assert log.parent != not_a_folder
    assert "RuntimeError: disk full" in log.read_text(encoding="utf-8")
    log.unlink()
