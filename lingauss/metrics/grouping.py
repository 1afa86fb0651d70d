"""Success criteria: does a metric's induced grouping of the factors match the truth?

With ``G`` true independent groups and ``m`` latents, a grouping succeeds when

* ``G <= m``: it equals the true grouping (same set partition of the factors);
* ``G > m``: it is a *coarsening* of the truth into exactly ``m`` groups (every block is a
  union of true groups); for three independent factors and two latents this is the authors'
  "not all in one slot" (reference §4).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..scenarios import canonical_grouping

__all__ = ["is_coarsening", "grouping_success", "format_grouping", "parse_grouping"]


def _check(grouping, name):
    try:
        g = canonical_grouping(grouping)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a sequence of blocks of factor indices") from None
    flat = [i for b in g for i in b]
    if len(flat) != len(set(flat)):
        raise ValueError(f"{name}: a factor appears in two blocks: {g}")
    return g


def is_coarsening(coarse: Sequence[Sequence[int]], fine: Sequence[Sequence[int]]) -> bool:
    """True when every block of ``coarse`` is a union of blocks of ``fine`` (same factors).

    Examples
    --------
    >>> is_coarsening([[0, 1], [2]], [[0], [1], [2]])
    True
    >>> is_coarsening([[0, 2], [1]], [[0, 1], [2]])
    False
    """
    c = _check(coarse, "coarse")
    f = _check(fine, "fine")
    if sorted(i for b in c for i in b) != sorted(i for b in f for i in b):
        raise ValueError("coarse, fine: must partition the same factors")
    where = {i: k for k, b in enumerate(c) for i in b}
    return all(len({where[i] for i in b}) == 1 for b in f)


def grouping_success(grouping: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], m: int):
    """Success criterion for an induced grouping (see module docstring).

    Parameters
    ----------
    grouping : sequence of blocks
        Grouping induced by a metric (an empty grouping, from an invalid metric, fails).
    truth : sequence of blocks
        The true independent groups.
    m : int
        Number of latents.

    Examples
    --------
    >>> grouping_success([[0, 1], [2]], [[0, 1], [2]], m=3)
    True
    >>> grouping_success([[0, 1], [2]], [[0], [1], [2]], m=2)   # G = 3 > m = 2
    True
    >>> grouping_success([[0, 1, 2]], [[0], [1], [2]], m=2)
    False
    """
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    t = _check(truth, "truth")
    if len(grouping) == 0:
        return False
    g = _check(grouping, "grouping")
    if len(t) <= m:
        return g == t
    return len(g) == m and is_coarsening(g, t)


def format_grouping(grouping: Sequence[Sequence[int]]) -> str:
    """``((0, 1), (2,))`` -> ``"{1,2}{3}"`` (1-based factor numbers, as v1, v2, ...)."""
    g = canonical_grouping(grouping)
    return "".join("{" + ",".join(str(i + 1) for i in b) + "}" for b in g)


def parse_grouping(text: str) -> tuple[tuple[int, ...], ...]:
    """Inverse of :func:`format_grouping` (``""`` -> ``()``)."""
    text = text.strip()
    if not text:
        return ()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"text: expected blocks like '{{1,2}}{{3}}', got {text!r}")
    blocks = text[1:-1].split("}{")
    try:
        return canonical_grouping([[int(x) - 1 for x in b.split(",") if x.strip()] for b in blocks])
    except ValueError:
        raise ValueError(f"text: expected blocks like '{{1,2}}{{3}}', got {text!r}") from None
