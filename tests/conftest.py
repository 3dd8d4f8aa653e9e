"""Settings for the whole suite.

Hypothesis: no deadline and no too-slow health check. Both are timings, and `make test`
runs two or more files at once on a small machine, where a slow example says nothing
about the code under test (performance is measured in `make bench`, never asserted).
Each test still chooses its own number of examples.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
