// Gathering the matched feature rows: every column of a table in one parallel pass over the rows.
#include <algorithm>
#include <limits>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "keys.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/features.hpp"

namespace mlsd::features {
namespace {

template <class Word>
void take_block(std::span<const index_t> rows, std::int64_t b, std::int64_t e, const TakeColumn& col,
                std::uint8_t* dst_bytes) {
  const auto* src = static_cast<const Word*>(col.data);
  auto* dst = reinterpret_cast<Word*>(dst_bytes);
  const auto fill = static_cast<Word>(col.fill);
  // The rows are random: their loads miss the cache, so each is prefetched kAhead rows before.
  constexpr std::int64_t kAhead = 32;
  const std::int64_t ahead = std::max(b, e - kAhead);
  for (std::int64_t i = b; i < ahead; ++i) {
    const index_t next = rows[i + kAhead];
    if (next >= 0) __builtin_prefetch(src + next);
    const index_t r = rows[i];
    dst[i] = r < 0 ? fill : src[r];
  }
  for (std::int64_t i = ahead; i < e; ++i) {
    const index_t r = rows[i];
    dst[i] = r < 0 ? fill : src[r];
  }
}

}  // namespace

std::vector<buffer<std::uint8_t>> take_rows(std::span<const index_t> rows, std::span<const TakeColumn> columns) {
  const char* fn = "take_rows";
  const auto n = static_cast<std::int64_t>(rows.size());
  std::int64_t n_src = std::numeric_limits<std::int64_t>::max();  // the shortest column's size
  for (const auto& c : columns) {
    MLSD_REQUIRE(c.width == 1 || c.width == 2 || c.width == 4 || c.width == 8, fn,
                 "column width must be 1, 2, 4 or 8 bytes, got ", c.width);
    MLSD_REQUIRE(c.size >= 0 && (c.size == 0 || c.data != nullptr), fn, "a column has no data");
    n_src = std::min(n_src, c.size);
  }
  std::vector<buffer<std::uint8_t>> out(columns.size());
  for (std::size_t k = 0; k < columns.size(); ++k) {
    out[k].resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(columns[k].width));
    mlsd::detail::advise_huge_pages(out[k].data(), out[k].size());
  }
  return run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, detail::kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
      check_interrupt();
      if (columns.empty()) return;
      index_t hi = -1;
      for (std::int64_t i = r.begin(); i != r.end(); ++i) hi = std::max(hi, rows[i]);
      MLSD_REQUIRE(hi < n_src, fn, "row ", hi, " is out of range for a column of ", n_src, " rows");
      for (std::size_t k = 0; k < columns.size(); ++k) {
        switch (columns[k].width) {
          case 1: take_block<std::uint8_t>(rows, r.begin(), r.end(), columns[k], out[k].data()); break;
          case 2: take_block<std::uint16_t>(rows, r.begin(), r.end(), columns[k], out[k].data()); break;
          case 4: take_block<std::uint32_t>(rows, r.begin(), r.end(), columns[k], out[k].data()); break;
          default: take_block<std::uint64_t>(rows, r.begin(), r.end(), columns[k], out[k].data()); break;
        }
      }
    });
    return std::move(out);
  });
}

}  // namespace mlsd::features
