"""The app of zhclean's temporary Prefect server: Prefect's own, minus set-up that has nothing to do.

At start-up Prefect's server runs Alembic's upgrade of its database, which
loads every migration script even when there is nothing to do, and checks
whether its block types need registering, which imports every installed
Prefect collection (prefect-dask: Dask and distributed, 0.67 s under
cProfile).  Skipping both, the server's CPU seconds to a healthy API went
from 4.32 to 3.70 (``bench/prefect_startup.py``, medians of 5), and on two
cores that start-up is on a run's critical path.  When the database is
a SQLite file already at the installed Prefect's head revision (a server set
it up before), both are skipped; in every other case (another database, a
new or older file, anything unexpected) Prefect sets it up as usual.  The
block types matter to Prefect's UI, not to zhclean's flow; a server started
later with ``prefect server start`` registers them itself.

Runs in the server's process (``flows.server.TemporaryServer``),
after Prefect has read its settings, so that it sees the same database as
the server: the environment, the active profile or ``prefect.toml``.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

_SQLITE_URL = re.compile(r"^sqlite\+aiosqlite:///(?P<path>[^?]+)$")
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"](?P<rev>\w+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(?P<value>.+)$", re.MULTILINE)


def sqlite_versions_dir() -> Path | None:
    """Prefect's SQLite migration scripts, found without importing Prefect's server."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "server" / "database" / "_migrations" / "versions" / "sqlite"


def head_revisions(versions_dir: Path) -> set[str]:
    """The revisions no other migration revises (Alembic's heads), read from the scripts' text.

    Empty when the scripts cannot be read as expected, which means "migrate".
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in versions_dir.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision = _REVISION.search(text)
        down = _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return set()  # a layout this parser does not know
        revisions.add(revision["rev"])
        # None, a revision, or a tuple of revisions (a merge).
        revised.update(re.findall(r"['\"](\w+)['\"]", down["value"]))
    if not revised <= revisions:
        return set()
    return revisions - revised


def sqlite_path(connection_url: str) -> Path | None:
    match = _SQLITE_URL.match(connection_url)
    if match is None or match["path"] == ":memory:":
        return None
    return Path(match["path"])


def database_revisions(database: Path) -> set[str]:
    """The revisions recorded in a SQLite database's ``alembic_version``; empty if none."""
    if not database.is_file():
        return set()
    try:
        # closing(): a connection's own context manager only commits.
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return set()
    return {row[0] for row in rows}


def at_head_revision(connection_url: str | None) -> bool:
    """True only for a SQLite database file at the installed Prefect's head revision."""
    database = sqlite_path(connection_url or "")
    versions = sqlite_versions_dir()
    if database is None or versions is None or not versions.is_dir():
        return False
    heads = head_revisions(versions)
    return bool(heads) and database_revisions(database) == heads


# Settings contexts entered for the life of the server's process (see create_app).
_SETTINGS_FOR_LIFE: list[Any] = []


def create_app() -> Any:
    """Prefect's server app (``uvicorn --factory``), without set-up that has nothing to do."""
    from prefect.server.api.server import create_app as prefect_server_app
    from prefect.settings import (
        PREFECT_API_BLOCKS_REGISTER_ON_START,
        PREFECT_API_DATABASE_MIGRATE_ON_START,
        PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION,
        get_current_settings,
        temporary_settings,
    )

    database = get_current_settings().server.database
    url = database.connection_url.get_secret_value() if database.connection_url else None
    if database.migrate_on_start and at_head_revision(url):
        # Entered for the rest of this process, which only serves this app: the
        # server reads the setting when its lifespan starts, after this returns.
        # (Kept referenced: a collected context manager would exit.)
        skip = {
            PREFECT_API_DATABASE_MIGRATE_ON_START: False,
            PREFECT_API_BLOCKS_REGISTER_ON_START: False,
            # Its memo check imports the collections before it asks whether to register.
            PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION: False,
        }
        _SETTINGS_FOR_LIFE.append(temporary_settings(updates=skip))
        _SETTINGS_FOR_LIFE[-1].__enter__()
    return prefect_server_app()
