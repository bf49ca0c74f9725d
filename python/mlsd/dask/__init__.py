"""mlsd on Dask: the same metrics, A/B tests, hashing, sharded retrieval and drift monitoring
(:func:`profile`, :func:`drift`) over partitioned data, with the answers the single-machine
functions give.

Install with ``pip install 'mlsd[dask]'``.  Importing :mod:`mlsd.dask` imports nothing from Dask;
Dask is imported when a function is first called.

Most functions follow one pattern (see ``DESIGN.md``, "Mergeable statistics"): each partition is
summarised into a small mergeable state by the mlsd kernel, on the worker that holds it; the
states are tree-reduced (fan-in ``split_every``); the single-machine code computes the result from
the merged state.  So what travels over the network is the states, never the rows, except where a
function says otherwise: the exact ROC AUC and average precision (and :func:`score_table`) regroup
the label and score columns by score range once, a distributed sort, because their exact state is
as large as the number of distinct scores; the group and query metrics shuffle rows by group;
:class:`DistributedIndex` sends each row once, to the worker holding its shard.

Pointing mlsd at a real cluster
-------------------------------
Create a client before calling mlsd, as for any Dask computation::

    from distributed import Client
    client = Client("tcp://scheduler-host:8786")   # your scheduler's address
    import mlsd.dask as md
    auc = md.roc_auc_score(df["click"], df["p_click"])

The functions compute on the current default client (the last one created), or on the one passed
as ``client=``.  Workers must have the same mlsd version installed.  Inside a worker, mlsd kernels
run on the worker's ``nthreads`` threads (TBB, OpenMP and BLAS alike), so start workers with one
process per machine and ``--nthreads`` equal to its cores, or several processes with fewer threads.

Cancelling
----------
Ctrl-C in the client (or ``client.cancel``) releases the call's tasks; a task whose mlsd kernel is
running stops within a chunk of its work (its kernel polls the worker's state for the task, see
``_common.in_worker``) and the worker is free for other work at once, instead of finishing the
partition.  The stopped task raises :class:`TaskCancelled` on the worker, which discards it.
"""

from __future__ import annotations

from . import _abtest, _features, _hashing, _metrics, _monitoring
from ._abtest import bootstrap, stats, stats_by
from ._common import TaskCancelled
from ._features import point_in_time_join
from ._features_window import window_aggregate
from ._hashing import hash_columns
from ._metrics import (
    average_precision_score,
    binned_roc_auc_score,
    dcg_at_k,
    group_auc,
    hit_rate_at_k,
    log_loss,
    map_at_k,
    mrr,
    ndcg_at_k,
    normalized_entropy,
    precision_at_k,
    recall_at_k,
    roc_auc_score,
    score_table,
)
from ._monitoring import drift, profile
from ._retrieval import DistributedIndex

__all__: list[str] = [*_metrics.__all__, *_abtest.__all__, *_hashing.__all__, *_features.__all__, *_monitoring.__all__,
                     "DistributedIndex", "window_aggregate", "TaskCancelled"]
