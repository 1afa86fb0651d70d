"""The follow-up λβ-VAE study in the linear-Gaussian setting: fixed point vs published tables.

The λβ loss ``L_λβ = NLL + β KL + λ MSE`` is ``β`` times the γλ loss with ``γ = 1/β`` and
``λ_γλ = λ/β`` (:func:`lingauss.loss.gamma_lambda_from_lambda_beta`), so the Blahut–Arimoto
solver serves both; the study keeps the decoder's **full** posterior covariance
``Σ_Z = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``.

Set-up (reference ``lambda-beta-linear-study.md``): ``s = 5`` factors, ``n ∈ {50, 100}``,
``m = 10``, ``Σ_Y = Γ Σ_V Γ^T + 0.05 I`` (shipped as ``scenario("lambda-beta-n50")`` and
``"lambda-beta-n100"``); grid ``β ∈ {1, 4, 8, 16, 32} × λ ∈ {0, 2, 4, 6, 8}``; 50 random
initial encoders (``B ~ U[0,1)``, ``Σ_W`` as scikit-learn's ``make_spd_matrix``), the same 50
in every cell.

Modules:

* :mod:`~lingauss.study.published` — the grid, the published means, scenarios, expected regimes;
* :mod:`~lingauss.study.reduction` — the exact reduction of each problem to ``d = s + m``;
* :mod:`~lingauss.study.fixed_point` — every cell × initialisation solved in one batch by the
  solver's one loop (exact rule, or the authors' block rule);
* :mod:`~lingauss.study.evaluation` — loss terms and metrics of solutions;
* :mod:`~lingauss.study.summary` — per-cell summaries, heatmap tables, the figure.
"""

from .evaluation import evaluate_solutions
from .fixed_point import SETTLED_RTOL as SETTLED_RTOL  # public, not in __all__ (as before)
from .fixed_point import fixed_point_study, solve_fixed_point_grid
from .grid import FixedPointGrid
from .published import *  # noqa: F403
from .published import PUBLISHED_ROUNDING as PUBLISHED_ROUNDING  # public, not in __all__
from .published import __all__ as _published_all
from .summary import study_figure, study_heatmap, summarize_study

__all__ = [
    *_published_all,
    "evaluate_solutions",
    "FixedPointGrid",
    "solve_fixed_point_grid",
    "fixed_point_study",
    "summarize_study",
    "study_heatmap",
    "study_figure",
]
