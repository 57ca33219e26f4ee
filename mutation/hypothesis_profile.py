"""A pytest plugin the harness loads into the test runs (``-p mutation.hypothesis_profile``).

A mutant is killed by the first failing example; shrinking it to a minimal one is for a reader
of the failure and can take minutes on tests whose examples create feature groups. So the
runs do not shrink, and keep no example database (each run starts from fresh examples, as a
first run in CI does).
"""

from __future__ import annotations

from hypothesis import Phase, settings

settings.register_profile(
    "mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate], database=None
)
settings.load_profile("mutation")
