"""Command-line behaviour that needs no flow run: help, usage errors, flag mapping."""

import pytest

from flows.cli import build_parser, main, overrides_from_args
from tests.paths import REPO
from tests.transforms.test_config import BAD_VALUES


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
        "quality": {"min_chars": 10},
        "dedup": {"enabled": False},
        "normalize": {"traditional_to_simplified": True},
        "run": {"shard_max_bytes": 1048576},
        "segment": {"words": True},
    }


def test_the_traceback_goes_to_a_temporary_file_when_the_output_cannot_take_it(tmp_path):
    from flows.cli import write_error_log as _write_error_log

    not_a_folder = tmp_path / "output"
    not_a_folder.write_text("a file where the output folder should be")
    try:
        raise RuntimeError("disk full")
    except RuntimeError:
        log = _write_error_log(not_a_folder)
    assert log.parent != not_a_folder
    assert "RuntimeError: disk full" in log.read_text(encoding="utf-8")
    log.unlink()


@pytest.mark.parametrize(("toml", "setting"), BAD_VALUES[::4])
def test_a_bad_value_exits_2_naming_the_setting_before_any_work(tmp_path, capsys, toml, setting):
    config = tmp_path / "zhclean.toml"
    config.write_text(toml, encoding="utf-8")
    output = tmp_path / "out"
    assert main(["run", "--config", str(config), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("zhclean: error: invalid configuration in ")
    assert setting in err
    assert not output.exists()


def test_help_shows_each_default_once_and_never_none(capsys):
    code, out = run_cli(capsys, "run", "--help")
    assert code == 0
    assert "(default: None)" not in out.out
    help_text = " ".join(out.out.split())
    assert "quality.min_chars; default: 100)" in help_text
    assert "(run.workers; default: all cores)" in help_text
    assert "keep duplicates" in help_text and "(dedup.enabled = false; default: on)" in help_text
    assert "(dedup.bands; default: derived from threshold and num_perm)" in help_text
    assert help_text.count("(default:") + help_text.count("; default:") == help_text.count(
        "default:"
    )


def test_each_setting_flag_names_its_setting_and_the_setting_exists(capsys):
    from flows.cli.options import RUN_FLAGS
    from transforms.config import PipelineConfig

    _, out = run_cli(capsys, "run", "--help")
    help_text = " ".join(out.out.split())
    for flag in RUN_FLAGS:
        section, name = flag.setting.split(".")
        assert name in type(getattr(PipelineConfig(), section)).model_fields, flag.setting
        assert flag.flag in help_text and flag.setting in help_text, flag.flag


def test_the_command_line_starts_workers_before_importing_prefect(tmp_path):
    """Importing Prefect takes a second or more: ``zhclean run`` starts its worker processes
    and Prefect's server first, so that they boot meanwhile (bench/RESULTS.md)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import flows.runner\n"
        "def spy(*args, **kwargs):\n"
        "    print('prefect imported:', 'prefect' in sys.modules, flush=True)\n"
        "    raise SystemExit(0)\n"
        "flows.runner.worker_pool = spy\n"
        "from flows.cli import main\n"
        f"main(['run', 'data/sample', '-o', {str(tmp_path / 'out')!r}, '-q'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "prefect imported: False"
