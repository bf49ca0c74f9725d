"""scikit-learn's own ``utils/tests/test_murmurhash.py`` run against mlsd.hashing.murmurhash3_32
(see _harness.py)."""

from mlsd.hashing import murmurhash3_32
from ._harness import PeerSuite

SUITE = PeerSuite(
    name="sklearn_murmurhash",
    module="sklearn.utils.tests.test_murmurhash",
    rebind={"murmurhash3_32": murmurhash3_32},
    expected_failures={},
    min_pass_rate=1.0,
)
SUITE.install(globals())
