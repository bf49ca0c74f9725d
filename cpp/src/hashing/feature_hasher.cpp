#include <algorithm>
#include <atomic>
#include <limits>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/canonical_rows.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {

namespace {

void check_features(const StringsView& names, std::span<const std::int64_t> row_indptr, std::int64_t n_features,
                    const char* fn) {
  check_n_features(n_features, fn);
  const std::size_t n = names.size();
  MLSD_REQUIRE(!row_indptr.empty() && row_indptr.front() == 0 && static_cast<std::size_t>(row_indptr.back()) == n, fn,
               "row_indptr must start at 0 and end at the number of features (", n, ")");
  check_strings(names, fn, "names");
  for (std::size_t r = 1; r < row_indptr.size(); ++r)
    MLSD_REQUIRE(row_indptr[r] >= row_indptr[r - 1], fn, "row_indptr must be non-decreasing");
}

}  // namespace

HashedEntries hash_features(StringsView names, std::span<const double> values, std::span<const std::int64_t> row_indptr,
                            std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
  const char* fn = "hash_features";
  const std::size_t n = names.size();
  MLSD_REQUIRE(values.empty() || values.size() == n, fn, "values has ", values.size(), " elements but there are ", n,
               " names");
  check_features(names, row_indptr, n_features, fn);
  const bool unit = values.empty();
  auto value_of = [&](std::int64_t i) { return unit ? 1.0 : values[i]; };

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
      if (unit) c = hi - lo;
      else for (auto i = lo; i < hi; ++i) c += values[i] != 0.0;
      out.indptr[r + 1] = c;
    });
    for (std::size_t r = 0; r < n_rows; ++r) out.indptr[r + 1] += out.indptr[r];
    out.indices.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    out.values.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    for_rows([&](std::size_t r, std::int64_t lo, std::int64_t hi) {
      std::int64_t dst = out.indptr[r];
      for (auto i = lo; i < hi; ++i) {
        const double v = value_of(i);
        if (v == 0.0) continue;  // scikit-learn drops zero values before hashing
        const auto key = names[static_cast<std::size_t>(i)];
        const auto h = static_cast<std::int32_t>(murmurhash3_32(key.data(), key.size(), seed));
        out.indices[dst] = static_cast<std::int32_t>(bucket_of(h, n_features));
        out.values[dst] = (alternate_sign && h < 0) ? -v : v;
        ++dst;
      }
    });
    return out;
  });
}

HashedEntries hash_features_summed(StringsView names, std::span<const std::int64_t> row_indptr, std::int64_t n_features,
                                   std::uint32_t seed, bool alternate_sign) {
  check_features(names, row_indptr, n_features, "hash_features_summed");
  const KeySource keys = [&](std::int64_t lo, std::int64_t hi, std::string_view* out) {
    for (auto i = row_indptr[lo]; i < row_indptr[hi]; ++i)
      *out++ = names[static_cast<std::size_t>(i)];
  };
  return hash_keys_summed(keys, row_indptr, n_features, seed, alternate_sign);
}

HashedEntries hash_keys_summed(const KeySource& keys, std::span<const std::int64_t> row_indptr, std::int64_t n_features,
                               std::uint32_t seed, bool alternate_sign) {
  const char* fn = "hash_keys_summed";
  check_n_features(n_features, fn);
  MLSD_REQUIRE(!row_indptr.empty() && row_indptr.front() == 0, fn, "row_indptr must start at 0");
  for (std::size_t r = 1; r < row_indptr.size(); ++r)
    MLSD_REQUIRE(row_indptr[r] >= row_indptr[r - 1], fn, "row_indptr must be non-decreasing");
  return run_in_arena([&] {
    const detail::EntryCoder code_of_hash(n_features, alternate_sign);
    auto fill = [&](std::int64_t lo, std::int64_t hi, std::uint32_t* codes) {
      std::vector<std::string_view> block(static_cast<std::size_t>(row_indptr[hi] - row_indptr[lo]));
      keys(lo, hi, block.data());
      for (const auto& k : block) *codes++ = code_of_hash(murmurhash3_32(k.data(), k.size(), seed));
    };
    const auto n_rows = static_cast<std::int64_t>(row_indptr.size()) - 1;
    return detail::canonical_ragged_rows(n_rows, 2048, [&](std::int64_t r) { return row_indptr[r]; }, fill);
  });
}

bool rows_sum_exactly(std::span<const std::int64_t> row_indptr) {
  for (std::size_t r = 1; r < row_indptr.size(); ++r)
    if (row_indptr[r] - row_indptr[r - 1] > kMaxSummedRowKeys) return false;
  return true;
}

std::optional<HashedEntries> hash_key_rows_summed(const KeyRows& rows, std::int64_t n_features, std::uint32_t seed,
                                                  bool alternate_sign) {
  const char* fn = "hash_key_rows_summed";
  check_n_features(n_features, fn);
  MLSD_REQUIRE(rows.n_rows >= 0, fn, "n_rows must be >= 0");
  const std::int64_t n_rows = rows.n_rows;
  std::vector<std::int64_t> row_indptr(static_cast<std::size_t>(n_rows) + 1, 0);
  std::atomic<bool> ok{true};
  run_in_arena([&] {
    tbb::parallel_for(std::int64_t{0}, n_rows, [&](std::int64_t r) {
      if (!ok.load(std::memory_order_relaxed)) return;
      const std::int64_t n = rows.size(r);
      if (n < 0 || n > kMaxSummedRowKeys) ok.store(false, std::memory_order_relaxed);
      else row_indptr[r + 1] = n;
    });
  });
  if (!ok.load()) return std::nullopt;
  for (std::int64_t r = 0; r < n_rows; ++r) row_indptr[r + 1] += row_indptr[r];
  const KeySource keys = [&](std::int64_t lo, std::int64_t hi, std::string_view* out) {
    for (auto r = lo; r < hi; ++r) {
      if (!rows.read(r, out)) ok.store(false, std::memory_order_relaxed);
      out += row_indptr[r + 1] - row_indptr[r];
    }
  };
  HashedEntries out = hash_keys_summed(keys, row_indptr, n_features, seed, alternate_sign);
  if (!ok.load()) return std::nullopt;
  return out;
}

HashedEntries sum_duplicates(std::span<const std::int32_t> indices, std::span<const double> values,
                             std::span<const std::int64_t> indptr) {
  MLSD_REQUIRE(indices.size() == values.size() && !indptr.empty() && indptr.front() == 0 &&
                   static_cast<std::size_t>(indptr.back()) == indices.size(),
               "sum_duplicates", "inconsistent CSR arrays");
  for (std::size_t r = 1; r < indptr.size(); ++r)
    MLSD_REQUIRE(indptr[r] >= indptr[r - 1], "sum_duplicates", "indptr must be non-decreasing");
  const std::size_t n_rows = indptr.size() - 1;
  using Pair = std::pair<std::int32_t, double>;
  // One row sorted into a scratch buffer, as scipy's csr_sort_indices does it.
  auto sorted_row = [&](std::size_t r, std::vector<Pair>& tmp) {
    tmp.clear();
    for (auto i = indptr[r]; i < indptr[r + 1]; ++i) tmp.emplace_back(indices[i], values[i]);
    std::sort(tmp.begin(), tmp.end(), [](const Pair& a, const Pair& b) { return a.first < b.first; });
  };
  auto for_rows = [&](auto&& body) {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_rows), [&](const tbb::blocked_range<std::size_t>& rr) {
      std::vector<Pair> tmp;
      for (auto r = rr.begin(); r != rr.end(); ++r) body(r, tmp);
    });
  };
  return run_in_arena([&] {
    // Each row is sorted once; its summed entries are written at the row's own input offset
    // (a row never grows), then rows are compacted if any row had duplicates.
    HashedEntries stage;
    stage.indices.resize(indices.size());
    stage.values.resize(values.size());
    buffer<std::int64_t> count(n_rows);
    for_rows([&](std::size_t r, std::vector<Pair>& tmp) {
      sorted_row(r, tmp);
      std::int64_t dst = indptr[r] - 1;
      for (std::size_t i = 0; i < tmp.size(); ++i) {
        if (i == 0 || tmp[i].first != tmp[i - 1].first) {
          stage.indices[++dst] = tmp[i].first;
          stage.values[dst] = tmp[i].second;
        } else {
          stage.values[dst] += tmp[i].second;  // summed in sorted order, as scipy does
        }
      }
      count[r] = dst + 1 - indptr[r];
    });
    stage.indptr.resize(n_rows + 1);
    stage.indptr[0] = 0;
    for (std::size_t r = 0; r < n_rows; ++r) stage.indptr[r + 1] = stage.indptr[r] + count[r];
    if (stage.indptr[n_rows] == indptr.back()) return stage;  // no duplicates anywhere
    HashedEntries out;
    out.indptr = stage.indptr;
    out.indices.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    out.values.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    tbb::parallel_for(std::size_t{0}, n_rows, [&](std::size_t r) {
      std::copy_n(stage.indices.begin() + indptr[r], count[r], out.indices.begin() + out.indptr[r]);
      std::copy_n(stage.values.begin() + indptr[r], count[r], out.values.begin() + out.indptr[r]);
    });
    return out;
  });
}

}  // namespace mlsd::hashing
