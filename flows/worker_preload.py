"""Imported once by the forkserver that forks the run's worker processes (``flows.runner``).

Importing it loads what every shard job needs (modules, lookup tables,
compiled loops), so that each worker forked from the forkserver starts with
them: measured, about 1.8 CPU seconds a worker, which on two cores competes
with Prefect's server start-up.  No Prefect here: the forkserver must stay a
process that is safe to fork.
"""

import contextlib

from transforms.engine.shard_jobs import warm_up

# The forkserver swallows only ImportError: any other error here would end it,
# and with it every later pool, with an error that names neither.  Each worker
# warms up again (a no-op once done) and so reports the error itself.
with contextlib.suppress(Exception):
    warm_up()
