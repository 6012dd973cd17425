"""Prefect settings zhclean needs, applied before Prefect is imported.

With no ``PREFECT_API_URL`` a flow starts Prefect's temporary local server:
nothing to install or start.  What a user must not see on the terminal is
Prefect's own chatter: telemetry errors (no network here), one INFO line per
task, and event-flush errors at exit (../shared/FACTS.md).  A user's own
environment variables win over these defaults.
"""

from __future__ import annotations

import os

QUIET_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # INFO records reach Prefect's API (the run's log in the UI); the console
    # handler below shows none of them.
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    # Task failures are reported by zhclean itself in one line (with the full
    # traceback in a log file); Prefect's console copy would be a wall of text.
    # The records still reach Prefect's API and UI.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    # Batched event recording: measured to cut per-task overhead from up to
    # 76 ms to 7-10 ms on 2 cores, and to avoid SQLite lock errors.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    # Prefect's UI is not served by the temporary server we start.
    "PREFECT_UI_ENABLED": "false",
    # The temporary server's default 20 s start-up limit is too tight on a
    # busy 2-core machine (measured: 13-19 s under load, and a run failed with
    # "Timed out while attempting to connect to ephemeral Prefect API server").
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def configure_prefect_environment() -> None:
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
