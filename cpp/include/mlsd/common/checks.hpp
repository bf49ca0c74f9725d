// Parallel input checks shared by the kernels; each throws std::invalid_argument naming the
// function, the argument and the first offending index.
#pragma once

#include <span>

namespace mlsd::detail {

void check_finite(std::span<const double> x, const char* function, const char* name);
// Finite and >= 0.
void check_nonnegative(std::span<const double> x, const char* function, const char* name);
// Finite and within [lo, hi].
void check_in_range(std::span<const double> x, double lo, double hi, const char* function, const char* name);

}  // namespace mlsd::detail
