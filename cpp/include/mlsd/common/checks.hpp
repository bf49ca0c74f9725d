// Parallel input checks shared by the kernels; each throws std::invalid_argument naming the
// function, the argument and the first offending index.
#pragma once

#include <cstdint>
#include <span>

namespace mlsd::detail {

void check_finite(std::span<const double> x, const char* function, const char* name);
// x is (n, d) row-major; the message names the row and column.
void check_finite_rows(std::span<const float> x, std::int64_t d, const char* function, const char* name);
// Finite and >= 0.
void check_nonnegative(std::span<const double> x, const char* function, const char* name);
// Finite and within [lo, hi].
void check_in_range(std::span<const double> x, double lo, double hi, const char* function, const char* name);

}  // namespace mlsd::detail
