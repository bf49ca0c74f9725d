"""scikit-learn's own ``feature_extraction/tests/test_feature_hasher.py`` run against
mlsd.hashing.FeatureHasher (see _harness.py)."""

from mlsd.hashing import FeatureHasher
from ._harness import PeerSuite, Rule

SUITE = PeerSuite(
    name="sklearn_feature_hasher",
    module="sklearn.feature_extraction.tests.test_feature_hasher",
    rebind={"FeatureHasher": FeatureHasher},
    deselect=[
        Rule(r"^test_hashing_transform_seed", "tests scikit-learn's private Cython helper _hashing_fast.transform"),
    ],
    expected_failures={},
    min_pass_rate=1.0,
)
SUITE.install(globals())
