#include <charconv>
#include <string>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {
namespace {

constexpr char kCrossSeparator = '\x1f';

bool present(const Column& c, std::int64_t r) {
  if (!c.valid.empty() && !c.valid[r]) return false;
  return c.kind != Column::Kind::dictionary || c.ints[r] >= 0;
}

// Appends "<name>=<text>" of row r to key.
void append_key(const Column& c, std::int64_t r, std::string& key) {
  key += c.name;
  key += '=';
  auto append_string = [&](const StringsView& s, std::int64_t i) {
    key.append(s.data.data() + s.offsets[i], static_cast<std::size_t>(s.offsets[i + 1] - s.offsets[i]));
  };
  switch (c.kind) {
    case Column::Kind::strings: append_string(c.strings, r); break;
    case Column::Kind::dictionary: append_string(c.strings, c.ints[r]); break;
    case Column::Kind::ints: {
      char buf[24];
      const auto res = std::to_chars(buf, buf + sizeof buf, c.ints[r]);
      key.append(buf, res.ptr);
      break;
    }
  }
}

}  // namespace

HashedEntries hash_columns(std::span<const Column> columns, std::size_t n_single,
                           std::span<const std::vector<std::size_t>> crosses, std::int64_t n_rows,
                           std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
  const char* fn = "hash_columns";
  MLSD_REQUIRE(n_single <= columns.size(), fn, "n_single (", n_single, ") exceeds the ", columns.size(), " columns");
  const auto single = columns.first(n_single);
  check_n_features(n_features, fn);
  MLSD_REQUIRE(n_rows >= 0, fn, "n_rows must be >= 0");
  for (const auto& c : columns) {
    check_strings(c.strings, fn, c.name.c_str());
    const auto n = static_cast<std::size_t>(n_rows);
    const bool ok = c.kind == Column::Kind::strings ? c.strings.size() == n : c.ints.size() == n;
    MLSD_REQUIRE(ok && (c.valid.empty() || c.valid.size() == n), fn, "column '", c.name, "' does not have ", n_rows,
                 " rows");
    if (c.kind == Column::Kind::dictionary) {
      const auto size = static_cast<std::int64_t>(c.strings.size());
      for (auto code : c.ints)
        MLSD_REQUIRE(code < size, fn, "column '", c.name, "' has code ", code, " outside its dictionary of ", size);
    }
  }
  for (const auto& cross : crosses) {
    MLSD_REQUIRE(cross.size() >= 2, fn, "a cross needs at least two columns");
    for (auto i : cross) MLSD_REQUIRE(i < columns.size(), fn, "cross refers to column ", i, " of ", columns.size());
  }
  auto cross_present = [&](const std::vector<std::size_t>& cross, std::int64_t r) {
    for (auto i : cross)
      if (!present(columns[i], r)) return false;
    return true;
  };
  auto n_entries = [&](std::int64_t r) {
    std::int64_t c = 0;
    for (const auto& col : single) c += present(col, r);
    for (const auto& cross : crosses) c += cross_present(cross, r);
    return c;
  };
  return run_in_arena([&] {
    HashedEntries out;
    out.indptr.resize(static_cast<std::size_t>(n_rows) + 1);
    out.indptr[0] = 0;
    tbb::parallel_for(std::int64_t{0}, n_rows, [&](std::int64_t r) { out.indptr[r + 1] = n_entries(r); });
    for (std::int64_t r = 0; r < n_rows; ++r) out.indptr[r + 1] += out.indptr[r];
    out.indices.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    out.values.resize(static_cast<std::size_t>(out.indptr[n_rows]));
    // Column-major within blocks of rows: one column (two memory streams) at a time over the
    // block, each row writing at its own cursor, keeps the reads sequential; row by row over
    // twenty columns would interleave forty streams.
    constexpr std::int64_t kBlock = 4096;
    const std::int64_t n_blocks = (n_rows + kBlock - 1) / kBlock;
    tbb::parallel_for(std::int64_t{0}, n_blocks, [&](std::int64_t blk) {
      const std::int64_t lo = blk * kBlock, hi = std::min(n_rows, lo + kBlock);
      std::vector<std::int64_t> cursor(out.indptr.begin() + lo, out.indptr.begin() + hi);
      std::string key;
      auto emit = [&](std::int64_t r) {
        const auto h = static_cast<std::int32_t>(murmurhash3_32(key.data(), key.size(), seed));
        const std::int64_t dst = cursor[r - lo]++;
        out.indices[dst] = static_cast<std::int32_t>(bucket_of(h, n_features));
        out.values[dst] = (alternate_sign && h < 0) ? -1.0 : 1.0;
      };
      for (const auto& col : single) {
        for (auto r = lo; r < hi; ++r) {
          if (!present(col, r)) continue;
          key.clear();
          append_key(col, r, key);
          emit(r);
        }
      }
      for (const auto& cross : crosses) {
        for (auto r = lo; r < hi; ++r) {
          if (!cross_present(cross, r)) continue;
          key.clear();
          for (std::size_t j = 0; j < cross.size(); ++j) {
            if (j > 0) key += kCrossSeparator;
            append_key(columns[cross[j]], r, key);
          }
          emit(r);
        }
      }
    });
    return out;
  });
}

}  // namespace mlsd::hashing
