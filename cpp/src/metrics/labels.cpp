#include <cmath>
#include <cstdint>
#include <limits>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/metrics.hpp"

namespace mlsd::metrics {
namespace {

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();

struct LabelScan {
  std::int64_t positives = 0;
  std::int64_t first_bad = kNone;
};

LabelScan combine(LabelScan a, const LabelScan& b) {
  a.positives += b.positives;
  if (b.first_bad < a.first_bad) a.first_bad = b.first_bad;
  return a;
}

template <class T>
[[noreturn]] void bad_label(const T& value, std::int64_t index) {
  if constexpr (std::is_floating_point_v<T>) {
    detail::throw_invalid("", "y_true must contain only 0 and 1; found ", value, " at index ", index);
  } else {
    detail::throw_invalid("", "y_true must contain only 0 and 1; found ", static_cast<long long>(value),
                          " at index ", index);
  }
}

}  // namespace

index_t check_binary_labels(std::span<const std::uint8_t> y) {
  const LabelScan r = run_in_arena([&] {
    return detail::ordered_reduce(
        static_cast<std::int64_t>(y.size()), LabelScan{},
        [&](std::int64_t b, std::int64_t e) {
          LabelScan s;
          std::uint8_t bits = 0;
          for (std::int64_t i = b; i < e; ++i) {
            bits |= y[i];
            s.positives += y[i];
          }
          if (bits > 1)
            for (std::int64_t i = b; i < e; ++i)
              if (y[i] > 1) {
                s.first_bad = i;
                break;
              }
          return s;
        },
        combine);
  });
  if (r.first_bad != kNone) bad_label(y[r.first_bad], r.first_bad);
  return r.positives;
}

template <class T>
void to_binary_labels(std::span<const T> y, std::span<std::uint8_t> out) {
  MLSD_REQUIRE(out.size() == y.size(), "to_binary_labels", "output has ", out.size(), " elements, expected ", y.size());
  const LabelScan r = run_in_arena([&] {
    return detail::ordered_reduce(
        static_cast<std::int64_t>(y.size()), LabelScan{},
        [&](std::int64_t b, std::int64_t e) {
          LabelScan s;
          for (std::int64_t i = b; i < e; ++i) {
            const T v = y[i];
            const bool one = v == T(1);
            if (!one && !(v == T(0)) && s.first_bad == kNone) s.first_bad = i;
            out[i] = one ? 1 : 0;
            s.positives += one;
          }
          return s;
        },
        combine);
  });
  if (r.first_bad != kNone) bad_label(y[r.first_bad], r.first_bad);
}

template void to_binary_labels<std::int8_t>(std::span<const std::int8_t>, std::span<std::uint8_t>);
template void to_binary_labels<std::int32_t>(std::span<const std::int32_t>, std::span<std::uint8_t>);
template void to_binary_labels<std::int64_t>(std::span<const std::int64_t>, std::span<std::uint8_t>);
template void to_binary_labels<float>(std::span<const float>, std::span<std::uint8_t>);
template void to_binary_labels<double>(std::span<const double>, std::span<std::uint8_t>);

}  // namespace mlsd::metrics
