"""The result types of :mod:`mlsd.retrieval` (the one result family of :mod:`mlsd._results`)."""

from __future__ import annotations

import numpy as np

from .._results import Result, ResultTuple, axes, result_type

__all__ = ["SearchResult", "SweepResult"]


class SearchResult(ResultTuple):
    """The top-k of a batch of queries: ``scores, ids = index.search(queries, k)``.

    Attributes
    ----------
    scores : float32 array of shape (n_queries, k)
        Best first (see :mod:`mlsd.retrieval` for each metric's direction).
    ids : int64 array of shape (n_queries, k)
        Padded with -1 (and the worst score) when fewer than k items qualify.

    ``to_frame()`` is tidy: one row per found neighbour, columns ``query`` (the row of
    ``queries``), ``rank`` (0 for the best, so ``ids[query, rank] == id``), ``id`` and ``score``.
    Padding (id -1) is not a neighbour and has no row.
    """

    _fields = ("scores", "ids")

    @classmethod
    def _of(cls, pair) -> "SearchResult":
        # The kernels return a (scores, ids) tuple; this wraps it without ResultTuple's keyword
        # handling (no extras here), so a single-query search pays a tuple copy and nothing more.
        return tuple.__new__(cls, pair)

    @property
    def n_queries(self) -> int:
        return int(self.ids.shape[0])

    @property
    def k(self) -> int:
        return int(self.ids.shape[1]) if self.ids.ndim == 2 else 0

    def __repr__(self) -> str:
        return f"SearchResult(n_queries={self.n_queries}, k={self.k})"

    def _summary(self):
        found = int(np.count_nonzero(self.ids != -1))
        return [("n_queries", str(self.n_queries)), ("k", str(self.k)),
                ("found", f"{found} of {self.ids.size} (the rest is -1 padding)")]

    def to_frame(self):
        """One row per (query, rank) with a real neighbour: ``query, rank, id, score``."""
        import pandas as pd

        scores, ids = np.asarray(self.scores), np.asarray(self.ids)
        n, k = ids.shape
        keep = ids.ravel() != -1
        return pd.DataFrame({
            "query": np.repeat(np.arange(n, dtype=np.int64), k)[keep],
            "rank": np.tile(np.arange(k, dtype=np.int64), n)[keep],
            "id": ids.ravel()[keep],
            "score": scores.ravel()[keep],
        })


@result_type
class SweepResult(Result):
    """Recall and speed of an index over the values of one search parameter (:func:`sweep`).

    Attributes
    ----------
    param : str
        "nprobe" or "efSearch".
    value : int64 array
        The parameter values, in the order given.
    recall : float64 array
        :func:`knn_recall` at ``k`` for each value.
    qps : float64 array
        Queries per second of the fastest of ``repeat`` runs.
    seconds : float64 array
        That run's time.
    k : int
    """

    param: str
    value: np.ndarray
    recall: np.ndarray
    qps: np.ndarray
    seconds: np.ndarray
    k: int

    def to_frame(self):
        """One row per parameter value: ``param, value, recall, qps, seconds``."""
        import pandas as pd

        return pd.DataFrame({"param": np.full(self.value.shape[0], self.param, dtype=object), "value": self.value,
                             "recall": self.recall, "qps": self.qps, "seconds": self.seconds},
                            columns=["param", "value", "recall", "qps", "seconds"])

    def plot(self, ax=None, *, label=None):
        """Recall (y) against queries per second (x, log scale), one point per parameter value,
        labelled with it; ``label`` names the line in a legend (default: the parameter).  Draws on
        ``ax`` (default: a new figure) and returns it."""
        ax = axes(ax)
        ax.plot(self.qps, self.recall, marker="o", label=self.param if label is None else label)
        for v, x, y in zip(self.value, self.qps, self.recall):
            ax.annotate(f"{self.param}={int(v)}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        if self.qps.size and np.all(np.isfinite(self.qps)) and np.all(self.qps > 0):
            ax.set_xscale("log")
        ax.set_xlabel("queries per second")
        ax.set_ylabel(f"recall@{self.k}")
        ax.set_title(f"recall against speed over {self.param}")
        return ax
