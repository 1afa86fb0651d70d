"""Shared pytest configuration: hypothesis profiles.

``ci`` (the default) is deterministic (``derandomize=True``: the same examples on every run,
so a numerical tolerance cannot fail at random) with no deadline (timings on shared CI
machines are meaningless) and a moderate number of examples. Select another profile with
``HYPOTHESIS_PROFILE=dev`` (few examples, quick local runs) or ``HYPOTHESIS_PROFILE=thorough``
(many random examples, for hunting counterexamples).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=40,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=10)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
