// The Python-object adapter of mlsd.hashing: the only code that walks Python objects (rather than
// buffers) to feed the hashing kernels.  It needs Python's C API, so it cannot live in the pure C++
// library; doing the same item by item in Python would cost more than the hashing itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::bindings::adapters {

// FeatureHasher's input_type.
enum class FeatureInput { dict, pair, string };

struct HashedFeatures {
  mlsd::hashing::HashedEntries entries;
  // Each row sorted by bucket with duplicates summed (only ever for string input); otherwise
  // entries are in input order and the caller sums them in its dtype, as scikit-learn does.
  bool summed = false;
};

// FeatureHasher.transform's one entry point, and the one place its path is chosen.  raw_x is an
// iterable of samples: dicts (or other mappings), iterables of (name, value) pairs, or iterables of
// names, read with scikit-learn's rules (sklearn/feature_extraction/_hashing_fast.pyx).
//   * string input given as a list of lists/tuples of ASCII str: hashed in place, in parallel, while
//     the calling thread holds the GIL (so no Python code can change or free the objects read), with
//     no copy of the strings; summed.
//   * otherwise the samples are read into a flat string layout (GIL held), then hashed without the
//     GIL: summed for string input whose rows all sum exactly (mlsd::hashing::rows_sum_exactly),
//     in input order for anything else.
// Throws the exceptions scikit-learn raises for malformed samples.
HashedFeatures hash_feature_input(py::handle raw_x, FeatureInput input_type, std::int64_t n_features,
                                  std::uint32_t seed, bool alternate_sign);

struct ObjectStrings {
  std::vector<char> data;
  std::vector<std::int64_t> offsets;  // n + 1
  std::vector<std::uint8_t> valid;    // 0 for a missing value (None, float NaN, pandas.NA)
};

// An object column of hash_columns (str values or missing values) in the Arrow string layout.
// Throws TypeError naming the column and row of any other value.
ObjectStrings strings_from_objects(const py::sequence& values, const std::string& column);

}  // namespace mlsd::bindings::adapters
