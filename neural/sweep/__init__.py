"""Resumable sweeps of an objective over (weight, seed), in an SQLite store (issue 13).

* :mod:`.config` — :class:`SweepConfig` (what a sweep is, its hash), :class:`SweepTask`
  (one run, as handed to a run function), ``--data`` / ``--weights`` parsing;
* :mod:`.store` — :class:`SweepStore`: one row per finished run, refuses other sweeps' and
  corrupt stores, checkpoints beside it;
* :mod:`.execute` — :func:`run_sweep` on any :class:`concurrent.futures.Executor` (local spawn
  processes, or ``dask.distributed``); resumable, Ctrl-C safe;
* :mod:`.runners` — the run functions: the conv VAE on dSprites and the linear bridge;
* :mod:`.report`, :mod:`.published`, :mod:`.traversals` — ``lingauss sweep --report``.
"""

from .config import *  # noqa: F401,F403
from .config import __all__ as _config_all
from .execute import *  # noqa: F401,F403
from .execute import __all__ as _execute_all
from .published import *  # noqa: F401,F403
from .published import __all__ as _published_all
from .report import *  # noqa: F401,F403
from .report import __all__ as _report_all
from .runners import *  # noqa: F401,F403
from .runners import __all__ as _runners_all
from .store import *  # noqa: F401,F403
from .store import __all__ as _store_all

__all__ = [
    *_config_all,
    *_store_all,
    *_execute_all,
    *_runners_all,
    *_report_all,
    *_published_all,
]
