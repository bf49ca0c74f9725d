#include <algorithm>
#include <limits>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {

HashedEntries hash_features(StringsView names, std::span<const double> values, std::span<const std::int64_t> row_indptr,
                            std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
  const char* fn = "hash_features";
  MLSD_REQUIRE(n_features >= 1 && n_features <= std::numeric_limits<std::int32_t>::max(), fn,
               "n_features must be in [1, 2**31 - 1]; got ", n_features);
  const std::size_t n = names.size();
  MLSD_REQUIRE(values.size() == n, fn, "values has ", values.size(), " elements but there are ", n, " names");
  MLSD_REQUIRE(!row_indptr.empty() && row_indptr.front() == 0 && static_cast<std::size_t>(row_indptr.back()) == n, fn,
               "row_indptr must start at 0 and end at the number of features (", n, ")");
  MLSD_REQUIRE(names.offsets.empty() ||
                   (names.offsets.front() == 0 && static_cast<std::size_t>(names.offsets.back()) <= names.data.size()),
               fn, "string offsets out of range");
  for (std::size_t i = 1; i < names.offsets.size(); ++i)
    MLSD_REQUIRE(names.offsets[i] >= names.offsets[i - 1], fn, "string offsets must be non-decreasing");
  for (std::size_t r = 1; r < row_indptr.size(); ++r)
    MLSD_REQUIRE(row_indptr[r] >= row_indptr[r - 1], fn, "row_indptr must be non-decreasing");

  return run_in_arena([&] {
    // Rows are independent: count each row's kept (non-zero) entries, prefix-sum them into the
    // output indptr, then every row hashes into its own slice.  O(n), the same for any thread count.
    const std::size_t n_rows = row_indptr.size() - 1;
    HashedEntries out;
    out.indptr.assign(n_rows + 1, 0);
    auto for_rows = [&](auto&& body) {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_rows), [&](const tbb::blocked_range<std::size_t>& rr) {
        for (auto r = rr.begin(); r != rr.end(); ++r) body(r, row_indptr[r], row_indptr[r + 1]);
      });
    };
    for_rows([&](std::size_t r, std::int64_t lo, std::int64_t hi) {
      std::int64_t c = 0;
      for (auto i = lo; i < hi; ++i) c += values[i] != 0.0;
      out.indptr[r + 1] = c;
    });
    for (std::size_t r = 0; r < n_rows; ++r) out.indptr[r + 1] += out.indptr[r];
    out.indices.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    out.values.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    for_rows([&](std::size_t r, std::int64_t lo, std::int64_t hi) {
      std::int64_t dst = out.indptr[r];
      for (auto i = lo; i < hi; ++i) {
        if (values[i] == 0.0) continue;  // scikit-learn drops zero values before hashing
        const auto b = names.offsets[i], e = names.offsets[i + 1];
        const auto h =
            static_cast<std::int32_t>(murmurhash3_32(names.data.data() + b, static_cast<std::size_t>(e - b), seed));
        out.indices[dst] = static_cast<std::int32_t>(bucket_of(h, n_features));
        out.values[dst] = (alternate_sign && h < 0) ? -values[i] : values[i];
        ++dst;
      }
    });
    return out;
  });
}

}  // namespace mlsd::hashing
