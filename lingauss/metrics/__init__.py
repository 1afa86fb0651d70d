"""Disentanglement metrics on the joint covariance of (X, V).

Each metric is a pure function on arrays (a joint covariance, or the cross-covariance and
variances); sample-based wrappers live in :mod:`neural`.
"""

__all__: list[str] = []
