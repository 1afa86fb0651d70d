"""Blahut–Arimoto dynamics: loss and I(X;Y) against half-steps, and the solutions in the
rate–distortion plane above the Gaussian bound."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..blahut_arimoto import BatchSolution, Solution
from ..rate_distortion import distortion_rate, gaussian_rate_distortion, solution_operating_point
from .common import OTHER_COLOR, REGIME_COLORS

__all__ = ["ba_convergence", "rate_distortion_plane"]


def _as_solutions(solutions) -> list[Solution]:
    if isinstance(solutions, Solution):
        return [solutions]
    if isinstance(solutions, BatchSolution):
        return [solutions[i] for i in range(len(solutions))]
    try:
        out = list(solutions)
    except TypeError:
        raise ValueError(
            f"solutions: expected a Solution, BatchSolution or a sequence of Solutions, got "
            f"{type(solutions).__name__}"
        ) from None
    flat: list[Solution] = []
    for s in out:
        if isinstance(s, BatchSolution):
            flat.extend(s[i] for i in range(len(s)))
        elif isinstance(s, Solution):
            flat.append(s)
        else:
            raise ValueError(f"solutions: expected Solution objects, got {type(s).__name__}")
    if not flat:
        raise ValueError("solutions: empty")
    return flat


def _default_label(sol: Solution) -> str:
    return f"γ={sol.gamma:g}, λ={sol.lam:g} ({sol.regime})"


def _labels(labels, sols):
    if labels is None:
        return [_default_label(s) for s in sols]
    labels = list(labels)
    if len(labels) != len(sols):
        raise ValueError(f"labels: expected {len(sols)} labels, got {len(labels)}")
    return [str(x) for x in labels]


# ---------------------------------------------------------------------- BA convergence
def _history(sol: Solution):
    """(half-steps, loss, I(X;Y)) of a run's recorded history (record j: (j+1)·every)."""
    loss = np.asarray(sol.loss_history, dtype=float)
    mi = np.asarray(sol.mi_history, dtype=float)
    steps = sol.history_every * (1 + np.arange(loss.size))
    return steps, loss, mi


def ba_convergence(
    solutions,
    labels: Sequence[str] | None = None,
    *,
    mi_floor: float = 1e-12,
    title: str | None = None,
) -> Figure:
    """Loss and I(X;Y) against half-steps for Blahut–Arimoto runs.

    Left: the loss's fall since the first record, ``L(h₀) − L(h)`` (log scale; a run that
    converges flattens out, the γ > 1 drift keeps falling without bound). Right: ``I(X;Y)``
    in nats (log scale): collapse goes to 0, an interior optimum flattens, the drift grows
    without bound. Colours: :data:`REGIME_COLORS`.

    Parameters
    ----------
    solutions : Solution, BatchSolution or sequence of Solution
        Runs with their history (``history_every`` sets the spacing).
    labels : sequence of str, optional
        Legend entries (default ``γ, λ (regime)``).
    mi_floor : float
        I(X;Y) values below this are drawn at it (log axis; 0 is collapse).
    title : str, optional
        Default: what the dots mark.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the loss's fall (left) and ``I(X;Y)`` (right), one line per run.

    Examples
    --------
    >>> import numpy as np
    >>> from lingauss import blahut_arimoto
    >>> runs = [blahut_arimoto(np.diag([1.0, 0.5]), 1, g, 0.0, seed=0, max_half_steps=200)
    ...         for g in (0.9, 1.1)]
    >>> fig = ba_convergence(runs)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['loss fall  L(h₀) − L(h)', 'I(X;Y) (nats)']
    """
    sols = _as_solutions(solutions)
    labels = _labels(labels, sols)
    mi_floor = float(mi_floor)
    if not mi_floor > 0:
        raise ValueError(f"mi_floor: must be > 0, got {mi_floor!r}")
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_l, ax_i = fig.subplots(1, 2)
    styles = ["-", "--", ":", "-."]
    count: dict[str, int] = {}
    for sol, lab in zip(sols, labels, strict=True):
        steps, loss, mi = _history(sol)
        if steps.size == 0:
            continue
        color = REGIME_COLORS.get(sol.regime, OTHER_COLOR)
        k = count.get(sol.regime, 0)
        count[sol.regime] = k + 1
        ls = styles[k % len(styles)]
        fall = loss[0] - loss
        ok = fall > 0
        ax_l.plot(steps[ok], fall[ok], ls, color=color, label=lab, lw=1.4)
        ax_i.plot(steps, np.maximum(mi, mi_floor), ls, color=color, label=lab, lw=1.4)
        if sol.stop_reason != "max_half_steps":
            ax_i.plot(steps[-1], max(mi[-1], mi_floor), "o", color=color, ms=4)
    ax_l.set_yscale("log")
    ax_i.set_yscale("log")
    ax_l.set_xlabel("half-steps")
    ax_i.set_xlabel("half-steps")
    ax_l.set_ylabel("loss fall  L(h₀) − L(h)")
    ax_i.set_ylabel("I(X;Y) (nats)")
    ax_i.axhline(mi_floor, color="black", lw=0.5, alpha=0.4)
    ax_i.text(0.01, 0.02, "collapse (I = 0)", transform=ax_i.transAxes, fontsize=7, alpha=0.7)
    ax_l.grid(alpha=0.3)
    ax_i.grid(alpha=0.3)
    ax_i.legend(fontsize=7, loc="best")
    fig.suptitle(title or "Blahut–Arimoto dynamics (dot: run stopped by its rule)", fontsize=11)
    return fig


# ------------------------------------------------------------------- rate–distortion plane
def rate_distortion_plane(
    Sigma_Y,
    solutions=None,
    *,
    m: int | None = None,
    labels: Sequence[str] | None = None,
    max_rate: float | None = None,
    relative: bool = True,
    title: str | None = None,
) -> Figure:
    """BA solutions in the (rate I(X;Y), distortion E‖Y − AX‖²) plane, above the bound.

    The curve is the Gaussian distortion–rate function ``D(R)`` of ``Σ_Y`` by reverse
    water-filling (:func:`lingauss.rate_distortion.distortion_rate`); with ``m < n`` latents
    the rank-``m`` bound (reconstructions in an ``m``-dimensional subspace) is drawn dashed.
    Points beyond ``max_rate`` (the γ > 1 drift) are drawn at the right edge as ``▶`` with
    their rate written beside them.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n)
    solutions : Solution, BatchSolution or sequence of Solution, optional
    m : int, optional
        Latent dimension for the rank bound (default: from the solutions).
    labels : sequence of str, optional
        Per-solution labels (default: γ and λ on hover-less plots are crowded, so none; the
        colours give the regime).
    max_rate : float, optional
        Right end of the rate axis (default: covers the non-divergent points and the bound
        down to 2 % of ``tr Σ_Y``).
    relative : bool
        Plot ``D / tr Σ_Y`` (default) or ``D`` itself.
    title : str, optional
        Default: "Rate–distortion plane: BA solutions above the Gaussian bound".

    Returns
    -------
    matplotlib.figure.Figure
        One panel: the bound(s), the unachievable region shaded, one point per solution.

    Examples
    --------
    >>> import numpy as np
    >>> fig = rate_distortion_plane(np.diag([4.0, 1.0, 0.5]), m=2)
    >>> fig.axes[0].get_xlabel()
    'rate I(X;Y) (nats)'
    """
    Sigma_Y = np.asarray(Sigma_Y, dtype=float)
    if Sigma_Y.ndim != 2:
        raise ValueError(f"Sigma_Y: expected one (n, n) matrix, got shape {Sigma_Y.shape}")
    n = Sigma_Y.shape[0]
    tr = float(np.trace(Sigma_Y))
    scale = 1.0 / tr if relative else 1.0
    sols = [] if solutions is None else _as_solutions(solutions)
    if labels is not None:
        labels = _labels(labels, sols)
    pts = None
    if sols:
        ms = {s.B.shape[0] for s in sols}
        if m is None and len(ms) == 1:
            m = ms.pop()
        pts = [solution_operating_point(s, Sigma_Y) for s in sols]
    rate_full = float(gaussian_rate_distortion(Sigma_Y, 0.02 * tr))
    if max_rate is None:
        finite = [p.rate for p, s in zip(pts or [], sols, strict=False) if s.regime != "divergent"]
        max_rate = max([rate_full] + [1.1 * r for r in finite])
    r = np.linspace(0.0, max_rate, 300)
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(r, scale * distortion_rate(Sigma_Y, r), color="black", lw=1.6, label="D(R) bound")
    if m is not None and m < n:
        ax.plot(
            r,
            scale * distortion_rate(Sigma_Y, r, rank=m),
            color="black",
            ls="--",
            lw=1.2,
            label=f"rank-{m} bound",
        )
    ax.fill_between(r, 0, scale * distortion_rate(Sigma_Y, r), color="0.85", label="unachievable")
    beyond: list[float] = []
    if pts:
        seen = set()
        for k, (p, s) in enumerate(zip(pts, sols, strict=True)):
            color = REGIME_COLORS.get(s.regime, OTHER_COLOR)
            lab = s.regime if s.regime not in seen else None
            seen.add(s.regime)
            x, y = float(p.rate), scale * float(p.distortion)
            if x > max_rate:
                ax.plot(max_rate, y, ">", color=color, ms=7, label=lab, clip_on=False)
                beyond.append(x)
            else:
                ax.plot(x, y, "o", color=color, ms=5, alpha=0.8, label=lab)
            if labels is not None:
                ax.annotate(
                    labels[k],
                    (min(x, max_rate), y),
                    xytext=(4, -8),
                    textcoords="offset points",
                    fontsize=6,
                )
    if beyond:
        ax.text(
            0.98,
            0.02,
            f"▶ {len(beyond)} run(s) off scale, rate {min(beyond):.3g}–{max(beyond):.3g} nats",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
        )
    ax.set_xlim(0, max_rate * 1.02)
    ax.set_ylim(0, 1.05 * scale * tr)
    ax.set_xlabel("rate I(X;Y) (nats)")
    ax.set_ylabel("distortion E‖Y − AX‖² / tr Σ_Y" if relative else "distortion E‖Y − AX‖²")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title or "Rate–distortion plane: BA solutions above the Gaussian bound")
    return fig
