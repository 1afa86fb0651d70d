"""Test the slides' hypothesis (reference §8) on any configuration.

With ``G`` the number of independent factor groups and ``m`` the number of latents, the slides
predict: if ``G < m``, I_m beats SAP (more so as ``m - G`` grows); if ``G >= m``, SAP wins.
:func:`hypothesis_test` measures both success rates per scenario over several seeds, pairs
them seed by seed, and says whether the measured difference supports the prediction.

Besides the published configurations, :data:`NEW_CONFIGS` defines configurations the slides did
not study (four factors, five observed coordinates, ``m = 4`` or ``m = 2``), built with
:func:`lingauss.factor_group_scenario`.

:func:`metric_agreement` extends the test to every metric that induces a grouping (I_m, SAP,
MIG, DCI): per scenario, how often each metric's grouping equals the true one, on a common set
of cells so that the metrics are compared on the same encoders, and which metric tracks the
truth best (paired over seeds). :func:`agreement_ranking` gives one row per scenario,
:func:`agreement_by_relation` pools the scenarios by ``G`` versus ``m`` and
:func:`format_agreement_markdown` prints the table.
"""

from .agreement import (
    agreement_by_relation,
    agreement_from_table,
    agreement_ranking,
    format_agreement_markdown,
    metric_agreement,
)
from .configs import HYPOTHESIS_CONFIGS, NEW_CONFIGS, new_config_scenarios
from .verdict import hypothesis_from_table, hypothesis_test, paired_verdict

__all__ = [
    "NEW_CONFIGS",
    "new_config_scenarios",
    "hypothesis_test",
    "paired_verdict",
    "hypothesis_from_table",
    "HYPOTHESIS_CONFIGS",
    "metric_agreement",
    "agreement_from_table",
    "agreement_ranking",
    "agreement_by_relation",
    "format_agreement_markdown",
]
