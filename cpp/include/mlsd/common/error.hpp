// Error conventions: user errors throw std::invalid_argument (-> ValueError) naming the function
// and the argument; internal invariants are debug asserts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace mlsd::detail {

template <class... Parts>
[[noreturn]] void throw_invalid(const char* function, const Parts&... parts) {
  std::ostringstream os;
  if (function != nullptr && *function != '\0') os << function << ": ";
  (os << ... << parts);
  throw std::invalid_argument(os.str());
}

}  // namespace mlsd::detail

#define MLSD_REQUIRE(cond, function, ...)                 \
  do {                                                    \
    if (!(cond)) ::mlsd::detail::throw_invalid(function, __VA_ARGS__); \
  } while (0)
