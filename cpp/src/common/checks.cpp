#include "mlsd/common/checks.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"

namespace mlsd::detail {
namespace {

// Index of the first element failing `ok`, or -1.  Chunks are scanned in parallel; the minimum
// failing index is reported so the message is the same for any thread count.
template <class T, class Ok>
std::int64_t first_failure(std::span<const T> x, Ok ok) {
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  const std::int64_t found = run_in_arena([&] { return ordered_reduce(
      static_cast<std::int64_t>(x.size()), kNone,
      [&](std::int64_t b, std::int64_t e) {
        bool all_ok = true;
        for (std::int64_t i = b; i < e; ++i) all_ok &= ok(x[i]);  // branch-free fast path
        if (all_ok) return kNone;
        for (std::int64_t i = b; i < e; ++i)
          if (!ok(x[i])) return i;
        return kNone;
      },
      [](std::int64_t a, std::int64_t b) { return a < b ? a : b; }); });
  return found == kNone ? -1 : found;
}

}  // namespace

void check_finite(std::span<const double> x, const char* function, const char* name) {
  const auto i = first_failure(x, [](double v) { return std::isfinite(v); });
  MLSD_REQUIRE(i < 0, function, name, " must be finite; found ", x[i < 0 ? 0 : i], " at index ", i);
}

void check_finite_rows(std::span<const float> x, std::int64_t d, const char* function, const char* name) {
  const auto i = first_failure(x, [](float v) { return std::isfinite(v); });
  MLSD_REQUIRE(i < 0, function, name, " must be finite; found ", x[i < 0 ? 0 : i], " at row ", i / d, ", column ",
               i % d);
}

void check_nonnegative(std::span<const double> x, const char* function, const char* name) {
  const auto i = first_failure(x, [](double v) { return std::isfinite(v) && v >= 0.0; });
  MLSD_REQUIRE(i < 0, function, name, " must be finite and >= 0; found ", x[i < 0 ? 0 : i], " at index ", i);
}

void check_in_range(std::span<const double> x, double lo, double hi, const char* function, const char* name) {
  const auto i = first_failure(x, [=](double v) { return v >= lo && v <= hi; });  // false for NaN
  MLSD_REQUIRE(i < 0, function, name, " must be within [", lo, ", ", hi, "]; found ", x[i < 0 ? 0 : i],
               " at index ", i);
}

}  // namespace mlsd::detail
