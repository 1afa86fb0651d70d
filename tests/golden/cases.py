"""Golden cases: tables the toolkit produced before the issue-14 restructure.

Each case is a function returning a tidy :class:`pandas.DataFrame`. ``make.py`` writes them to
``tests/golden/*.csv.gz`` (floats as ``%.17g``, which round-trips every float64), and
``tests/test_golden.py`` recomputes them and asserts **exact** equality: the restructure
promises every table bit-identical for a seed, and the γ > 1 runs are chaotic, so any change in
the order of floating-point operations would show here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOAT_FORMAT = "%.17g"


def _frame_of_arrays(prefix: str, arrays: dict) -> pd.DataFrame:
    rows = []
    for name, a in arrays.items():
        a = np.asarray(a, dtype=float).ravel()
        rows += [{"array": f"{prefix}{name}", "index": i, "value": v} for i, v in enumerate(a)]
    return pd.DataFrame(rows)


def notebook_all() -> pd.DataFrame:
    import lingauss as lg

    return lg.success_table("all", "notebook", seeds=[0, 1], metrics="all", n_jobs=1)


def exact_all() -> pd.DataFrame:
    import lingauss as lg

    return lg.success_table("all", "exact", seeds=[0], metrics="all", n_jobs=1)


def resampled_553() -> pd.DataFrame:
    import lingauss as lg

    return lg.success_table("5-5-3", "notebook", seeds=[3], preset="resampled", n_jobs=1)


def summary_notebook() -> pd.DataFrame:
    import lingauss as lg

    t = lg.success_table(["3-4-3", "5-5-4"], "notebook", seeds=[0, 1, 2], n_jobs=1)
    return lg.compare_published(lg.summarize(t))


def hypothesis_454() -> pd.DataFrame:
    import lingauss as lg

    return lg.hypothesis_test("4-5-4", "notebook", seeds=[0, 1], n_jobs=1)


def agreement_exact() -> pd.DataFrame:
    import lingauss as lg

    return lg.metric_agreement(["3-4-3", "4-5-2"], "exact", seeds=[0, 1], n_jobs=1)


def study_authors() -> pd.DataFrame:
    import lingauss as lg

    return lg.fixed_point_study(50, inits=2, stop_rule="authors", seed=0, max_half_steps=3000)


def study_exact() -> pd.DataFrame:
    import lingauss as lg

    return lg.fixed_point_study(50, inits=2, stop_rule="exact", seed=1, max_half_steps=3000)


def single_runs() -> pd.DataFrame:
    """Single-problem BA runs in every regime and stop rule, as flat arrays."""
    import lingauss as lg

    sc = lg.scenario("3-4-3", 2)
    frames = []
    cases = [
        (0.9, 0.0, "exact", "exchangeable"),
        (0.99, 0.01, "exact", "exchangeable"),
        (1.02, 0.0, "exact", "authors"),
        (0.98, -0.01, "notebook", "authors"),
        (1.01, 0.02, "notebook", "authors"),
        (1.0, 0.0, "block", "authors"),
    ]
    for k, (g, lam, rule, init) in enumerate(cases):
        sol = lg.blahut_arimoto(
            sc.Sigma_Y,
            sc.m,
            gamma=g,
            lam=lam,
            seed=k,
            init=init,
            stop_rule=rule,
            max_half_steps=4000,
            block_tol=1e-6 if rule == "block" else None,
        )
        summ = sol.summary()
        frames.append(
            _frame_of_arrays(
                f"{k}:",
                {
                    "A": sol.A,
                    "B": sol.B,
                    "Sigma_Z": sol.Sigma_Z,
                    "Sigma_W": sol.Sigma_W,
                    "loss": [sol.loss.kl, sol.loss.nll, sol.loss.mse, sol.loss.total],
                    "half_steps": [sol.half_steps],
                    "loss_history": sol.loss_history,
                    "mi_history": sol.mi_history,
                },
            ).assign(regime=summ["regime"], stop_reason=summ["stop_reason"])
        )
    return pd.concat(frames, ignore_index=True)


def batch_runs() -> pd.DataFrame:
    """A batched run with a variance floor and full Σ_Z, as flat arrays."""
    import lingauss as lg

    sc = lg.scenario("5-5-4", 3)
    rng = np.random.default_rng(7)
    P = 12
    B0, Sw0 = lg.random_encoder(sc.m, sc.n, rng, size=P, method="authors")
    gam = np.linspace(0.97, 1.03, P)
    lam = np.linspace(-0.01, 0.02, P)
    out = []
    for diagonal in (True, False):
        bs = lg.blahut_arimoto_batch(
            sc.Sigma_Y,
            sc.m,
            gam,
            lam,
            B0=B0,
            Sigma_W0=Sw0,
            max_half_steps=3000,
            diagonal=diagonal,
            stop_rule="exact",
        )
        arr = {
            "A": bs.A,
            "B": bs.B,
            "Sigma_Z": bs.Sigma_Z,
            "Sigma_W": bs.Sigma_W,
            "kl": bs.loss.kl,
            "nll": bs.loss.nll,
            "mse": bs.loss.mse,
            "total": bs.loss.total,
            "half_steps": bs.half_steps,
        }
        out.append(
            _frame_of_arrays(f"diag={diagonal}:", arr).assign(
                regimes="|".join(map(str, bs.regime)), stops="|".join(map(str, bs.stop_reason))
            )
        )
    return pd.concat(out, ignore_index=True)


def neural_grid() -> pd.DataFrame:
    import lingauss as lg
    from neural import TrainingConfig, train_grid

    sc = lg.scenario("3-4-3", 2)
    cfg = TrainingConfig(
        max_steps=300, batch_size=256, eval_every=50, n_val=2048, device="cpu", progress=False
    )
    res = train_grid(sc, [0.99, 1.0], [0.0, 0.01], seeds=(0, 1), training=cfg)
    return res.frame()


def neural_adamw() -> pd.DataFrame:
    from neural.lambda_beta import learned_frame, learned_study

    run = learned_study(
        50, inits=2, method="adamw", seed=0, steps=200, betas=[1.0, 4.0], lams=[0.0, 2.0]
    )
    return learned_frame(run)


def neural_compare() -> pd.DataFrame:
    from neural import TrainingConfig
    from neural.compare import compare

    cfg = TrainingConfig(
        max_steps=300, batch_size=256, eval_every=50, n_val=2048, device="cpu", progress=False
    )
    return compare("3-4-3", 0.99, 0.01, number=2, seed=0, training=cfg, n_samples=4000).table


def cli_outputs() -> pd.DataFrame:
    """Printed output of the CLI (text and JSON) for small runs."""
    import contextlib
    import io

    from lingauss.cli import main

    commands = [
        ["reproduce", "--config", "3-4-3", "--seeds", "2", "--jobs", "1", "--no-progress"],
        [
            "reproduce",
            "--config",
            "5-5-3",
            "--seeds",
            "1",
            "--jobs",
            "1",
            "--json",
            "--no-progress",
            "--metrics",
            "all",
        ],
        ["solve", "--config", "5-5-4", "--scenario", "2", "--gamma", "0.99", "--lam", "0.01"],
        [
            "solve",
            "--config",
            "3-4-2",
            "--scenario",
            "1",
            "--gamma",
            "1.01",
            "--lam",
            "0",
            "--protocol",
            "exact",
            "--json",
        ],
    ]
    rows = []
    for cmd in commands:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            main(cmd)
        rows += [
            {"command": " ".join(cmd), "line": i, "text": t}
            for i, t in enumerate(buf.getvalue().splitlines())
        ]
    return pd.DataFrame(rows)


CASES = {
    "neural_compare": neural_compare,
    "cli_outputs": cli_outputs,
    "notebook_all": notebook_all,
    "exact_all": exact_all,
    "resampled_553": resampled_553,
    "summary_notebook": summary_notebook,
    "hypothesis_454": hypothesis_454,
    "agreement_exact": agreement_exact,
    "study_authors": study_authors,
    "study_exact": study_exact,
    "single_runs": single_runs,
    "batch_runs": batch_runs,
    "neural_grid": neural_grid,
    "neural_adamw": neural_adamw,
}


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """The frame as it reads back from CSV (so stored and fresh frames compare alike)."""
    import io

    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format=FLOAT_FORMAT)
    buf.seek(0)
    return pd.read_csv(buf, keep_default_na=False, na_values=[""])
