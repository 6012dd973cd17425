"""Start-up of zhclean's temporary Prefect server, with and without zhclean's app wrapper.

Starts ``flows.server.TemporaryServer`` (zhclean's app,
``flows.server_app``: no migration or block-registration check when the
database is at the installed Prefect's head revision) and the same server
with Prefect's own app, alternately, ``--repeats`` times each, on the
current ``PREFECT_HOME`` (its database must exist: run zhclean once first).
Prints, per variant, the median seconds from start to a healthy API and the
server's CPU seconds by then, and the ratio of the medians.

    python bench/prefect_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.server import ZHCLEAN_APP, TemporaryServer
from flows.server_app import at_head_revision


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(app: str) -> tuple[float, float]:
    """Seconds to healthy and the server's CPU seconds then, for one start of ``app``."""
    started = time.perf_counter()
    server = TemporaryServer(app=app)
    try:
        server.wait_until_healthy(120)
        return time.perf_counter() - started, _cpu_seconds(server.process.pid)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    database = home / "prefect.db"
    print(
        f"PREFECT_HOME {home}; database at head: {at_head_revision(f'sqlite+aiosqlite:///{database}')}"
    )
    apps = {
        "zhclean": ZHCLEAN_APP,
        "prefect": "prefect.server.api.server:create_app",
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    for repeat in range(args.repeats):
        order = list(apps) if repeat % 2 == 0 else list(reversed(apps))
        for name in order:
            times[name].append(start_once(apps[name]))
            wall, cpu = times[name][-1]
            print(
                f"  repeat {repeat + 1} {name}: healthy after {wall:.2f} s, server CPU {cpu:.2f} s"
            )
    medians = {
        n: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
        for n, t in times.items()
    }
    for name, (wall, cpu) in medians.items():
        print(f"{name} app: median {wall:.2f} s to healthy, {cpu:.2f} CPU s")
    print(
        f"prefect / zhclean (medians): wall {medians['prefect'][0] / medians['zhclean'][0]:.3f}, "
        f"CPU {medians['prefect'][1] / medians['zhclean'][1]:.3f}"
    )


if __name__ == "__main__":
    main()
