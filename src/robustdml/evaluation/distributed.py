"""Certified radii, predictions and the attack for a large query set, block by block, on a
Dask cluster or in this process.

The fitted estimator (its training set, embedded and mapped, with everything the certificate
needs) is sent to each worker once, with ``Client.scatter(..., broadcast=True)``; the query
blocks are then mapped over the workers and their results put back in order. Each block runs
the estimator's own public methods (``predict``, ``certified_radius``) and
:func:`~robustdml.knn_attack`, whose result for a query depends on that query alone, so the
blocks give what one call on all queries gives. Without a cluster, the same blocks run here.
"""

import uuid
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, check_is_fitted

from .attack import AttackResult, knn_attack

#: Seconds to wait for a scheduler to answer, and for at least one worker to join it.
CONNECT_TIMEOUT = 30

#: How many times each fitted estimator has been unpickled in this process, by token: on a
#: worker, the number of times its training set arrived.
_ARRIVALS = {}


class _Shipment:
    """A fitted estimator on its way to the workers, counted in ``_ARRIVALS`` where it is
    unpickled."""

    def __init__(self, estimator, token):
        self.estimator, self.token = estimator, token

    def __reduce__(self):
        return _arrive, (self.estimator, self.token)


def _arrive(estimator, token):
    _ARRIVALS[token] = _ARRIVALS.get(token, 0) + 1
    return _Shipment(estimator, token)


def _installed_version():
    """robustdml's version where this runs (a worker without robustdml fails to unpickle
    this function)."""
    from .. import __version__

    return __version__


@dataclass(frozen=True)
class BlockResults:
    """What :func:`certify_blocks` computed for each query, in the order of the queries.

    Parameters
    ----------
    predictions : ndarray of shape (n_queries,)
        The estimator's predictions.
    radii : ndarray of shape (n_queries,) or None
        The certified radii (None when not asked for).
    attack : AttackResult or None
        The attack's norms, examples and successes (None when not asked for).
    n_blocks : int
        How many blocks the queries were split into.

    See Also
    --------
    certify_blocks : The function that returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from robustdml.evaluation import BlockResults
    >>> BlockResults(np.array([0, 1]), np.array([0.5, 0.2]), None, 1).radii
    array([0.5, 0.2])
    """

    predictions: np.ndarray
    radii: np.ndarray
    attack: AttackResult
    n_blocks: int


def _certify_block(shipment, X, y, radius, max_radius, attack):
    """One block of queries, with the estimator's public methods."""
    estimator = shipment.estimator
    predictions = estimator.predict(X)
    radii = estimator.certified_radius(X, y, max_radius=max_radius) if radius else None
    result = knn_attack(estimator, X, y, **attack) if attack is not None else None
    return predictions, radii, result


def _connect(client, timeout):
    """The client to use and whether this call opened it (and must close it)."""
    if client is None or not isinstance(client, str):
        return client, False
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise ImportError("certify_blocks on a cluster needs dask.distributed: "
                          "pip install 'robustdml[distributed]'") from error
    try:
        return Client(client, timeout=timeout), True
    except (OSError, TimeoutError) as error:
        raise ConnectionError(
            f"No Dask scheduler answered at {client!r} within {timeout} s ({error}). Check "
            "the address (e.g. tcp://host:8786), start one with 'dask scheduler' and "
            "'dask worker ADDRESS', or pass client=None to run the blocks here.") from error


def _check_workers(client, timeout):
    """Fail early, with what to do, if no worker is there or one cannot run robustdml."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as error:
        raise RuntimeError(f"No Dask worker joined the scheduler at {client.scheduler.address}"
                           f" within {timeout} s; start one with 'dask worker "
                           f"{client.scheduler.address}'.") from error
    versions = client.run(_installed_version, on_error="return")
    ours = _installed_version()
    wrong = {worker: version for worker, version in versions.items() if version != ours}
    if wrong:
        described = "; ".join(
            f"{worker}: {type(version).__name__}: {version}" if isinstance(version, Exception)
            else f"{worker}: robustdml {version}" for worker, version in sorted(wrong.items()))
        raise RuntimeError(
            f"Dask workers cannot run robustdml {ours} as this process does ({described}). "
            f"Install robustdml=={ours} with its 'distributed' extra in the workers' "
            "environment (pip install 'robustdml[distributed]') and restart them.")


def certify_blocks(estimator, X, y=None, *, client=None, block_size=1000, radius=True,
                   max_radius=None, attack=None, timeout=CONNECT_TIMEOUT):
    """Predict, certify and attack a large query set block by block, on a Dask cluster.

    The fitted estimator (its training set and the structures the certificate needs) is
    sent to each worker once; the blocks of ``block_size`` queries are mapped over the
    workers, and their results come back in the order of the queries. Every block calls the
    estimator's ``predict`` and ``certified_radius`` and :func:`~robustdml.knn_attack`, whose
    result for a query does not depend on the other queries (the attack has no random
    state): the results equal those of one call on all queries, and those of ``client=None``,
    which runs the same blocks in this process.

    Parameters
    ----------
    estimator : CertifiedKNN
        A fitted classifier (or any fitted estimator with ``predict`` and
        ``certified_radius(X, y, max_radius=...)``).
    X : array-like of shape (n_queries, n_features)
        Query points.
    y : array-like of shape (n_queries,), default=None
        True labels, passed to ``certified_radius`` and the attack (a misclassified query
        gets radius and norm 0).
    client : dask.distributed.Client, str or None, default=None
        The cluster: a client, or the address of a scheduler (connected to, then closed).
        None runs the blocks one after the other in this process.
    block_size : int, default=1000
        Queries per block. A block holds 16 rows of distances to every training point at
        a time, whatever its size; smaller blocks spread a small query set over more workers.
    radius : bool, default=True
        Compute the certified radii.
    max_radius : float, default=None
        Passed to ``certified_radius``: radii are cut at it, and faster.
    attack : dict or None, default=None
        Run :func:`~robustdml.knn_attack` with these keyword arguments (``{}`` for its
        defaults); None skips the attack.
    timeout : float, default=30
        Seconds to wait for the scheduler to answer and for a worker to join it.

    Returns
    -------
    BlockResults
        Predictions, radii and the attack's result, in the order of the queries.

    Raises
    ------
    ConnectionError
        If no scheduler answers at the address given.
    RuntimeError
        If no worker joins the scheduler, or a worker cannot import robustdml or has
        another version of it.
    TypeError
        If the estimator has no ``certified_radius`` and radii are asked for.
    ValueError
        If ``block_size`` is not a positive integer or X holds no queries.

    See Also
    --------
    robustdml.CertifiedKNN.certified_radius : The radii of one block.
    robustdml.knn_attack : The attack on one block.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from robustdml import CertifiedKNN
    >>> from robustdml.evaluation import certify_blocks
    >>> X, y = load_iris(return_X_y=True)
    >>> knn = CertifiedKNN(3).fit(X, y)
    >>> result = certify_blocks(knn, X, y, block_size=40)
    >>> result.n_blocks, bool((result.radii == knn.certified_radius(X, y)).all())
    (4, True)
    """
    check_is_fitted(estimator)
    if radius and not hasattr(estimator, "certified_radius"):
        raise TypeError(f"{type(estimator).__name__} has no certified_radius; certify_blocks "
                        "needs a fitted CertifiedKNN (or pass radius=False).")
    if not isinstance(block_size, Integral) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}.")
    attack = None if attack is None else dict(attack)
    n_queries = _num_samples(X)
    if n_queries == 0:
        raise ValueError("X holds no queries; pass at least one.")
    blocks = [np.arange(start, min(start + block_size, n_queries))
              for start in range(0, n_queries, block_size)]
    arguments = [(_safe_indexing(X, block), None if y is None else _safe_indexing(y, block),
                  radius, max_radius, attack) for block in blocks]
    shipment = _Shipment(estimator, uuid.uuid4().hex)
    client, opened = _connect(client, timeout)
    try:
        if client is None:
            results = [_certify_block(shipment, *args) for args in arguments]
        else:
            _check_workers(client, timeout)
            [shipped] = client.scatter([shipment], broadcast=True, hash=False)
            futures = [client.submit(_certify_block, shipped, *args, pure=False)
                       for args in arguments]
            results = client.gather(futures)
            del futures, shipped  # the workers drop the training set
    finally:
        if opened:
            client.close()
    predictions, radii, attacks = zip(*results)
    return BlockResults(
        predictions=np.concatenate(predictions),
        radii=np.concatenate(radii) if radius else None,
        attack=None if attack is None else AttackResult(
            norms=np.concatenate([a.norms for a in attacks]),
            examples=np.concatenate([a.examples for a in attacks]),
            success=np.concatenate([a.success for a in attacks])),
        n_blocks=len(blocks))
