import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flows.server import TemporaryServer
from flows.server_app import (
    at_head_revision,
    database_revisions,
    head_revisions,
    sqlite_path,
    sqlite_versions_dir,
)
from tests.paths import REPO


def _alembic_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    versions = sqlite_versions_dir()
    config = Config()
    config.set_main_option("script_location", str(versions.parents[1]))
    config.set_main_option("version_locations", str(versions))
    return set(ScriptDirectory.from_config(config).get_heads())


def test_the_head_read_from_the_scripts_is_alembics_head():
    heads = head_revisions(sqlite_versions_dir())
    assert heads and heads == _alembic_heads()


def _database(path: Path, *revisions: str) -> str:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.executemany("INSERT INTO alembic_version VALUES (?)", [(r,) for r in revisions])
    return f"sqlite+aiosqlite:///{path}"


def test_only_a_sqlite_file_at_the_head_revision_counts_as_set_up(tmp_path):
    (head,) = head_revisions(sqlite_versions_dir())
    assert at_head_revision(_database(tmp_path / "head.db", head))
    assert not at_head_revision(_database(tmp_path / "old.db", "9725c1cbee35"))
    assert not at_head_revision(_database(tmp_path / "two.db", head, "9725c1cbee35"))
    assert not at_head_revision(_database(tmp_path / "empty.db"))
    assert not at_head_revision(f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}")
    assert not at_head_revision("postgresql+asyncpg://user:secret@db:5432/prefect")
    assert not at_head_revision("sqlite+aiosqlite:///:memory:")
    assert not at_head_revision(None)
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()  # a file without Alembic's table
    assert database_revisions(other) == set()


def test_sqlite_paths_are_read_from_prefects_connection_urls(tmp_path):
    assert sqlite_path(f"sqlite+aiosqlite:///{tmp_path}/prefect.db") == tmp_path / "prefect.db"
    assert sqlite_path("sqlite+aiosqlite:///relative.db") == Path("relative.db")
    assert sqlite_path("postgresql+asyncpg://db/prefect") is None


def test_unknown_script_layouts_mean_migrate(tmp_path):
    (tmp_path / "a.py").write_text('revision = "aaa"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "bbb"\ndown_revision = "aaa"\n')
    assert head_revisions(tmp_path) == {"bbb"}
    (tmp_path / "c.py").write_text('revision = "ccc"\ndown_revision = "zzz"\n')  # unknown parent
    assert head_revisions(tmp_path) == set()
    (tmp_path / "c.py").write_text("REVISION = get_revision()\n")
    assert head_revisions(tmp_path) == set()


def _setup_settings_of_the_app(prefect_home: Path) -> str:
    """The set-up settings the server's lifespan will read, after ``create_app``."""
    code = (
        "from flows.server_app import create_app\n"
        "from prefect.settings import PREFECT_API_BLOCKS_REGISTER_ON_START as B,"
        " PREFECT_API_DATABASE_MIGRATE_ON_START as M\n"
        "create_app()\n"
        "print(M.value(), B.value())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


@pytest.mark.slow
def test_the_server_sets_up_a_new_database_and_skips_it_for_one_at_head(tmp_path, monkeypatch):
    home = tmp_path / "prefect-home"
    assert _setup_settings_of_the_app(home) == ["True", "True"]  # no database yet
    for key in [k for k in os.environ if k.startswith("PREFECT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for _ in range(2):  # the first start creates the database, the second skips its set-up
        server = TemporaryServer()
        try:
            server.wait_until_healthy(120)
            import urllib.request

            request = urllib.request.Request(
                f"{server.api_url}/flows/filter", data=b"{}", method="POST"
            )
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200  # the database answers queries
        finally:
            server.stop()
    assert at_head_revision(f"sqlite+aiosqlite:///{home / 'prefect.db'}")
    assert _setup_settings_of_the_app(home) == ["False", "False"]
