// Error conventions: user errors throw mlsd::invalid_argument (a std::invalid_argument; -> ValueError
// in Python) whose message names the argument; internal invariants are debug asserts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace mlsd {

// what() is "function: message" for C++ callers; the Python bindings raise message() alone, and the
// Python layer names the public function that was called (C++ function names never reach Python).
class invalid_argument : public std::invalid_argument {
 public:
  invalid_argument(const std::string& function, const std::string& message)
      : std::invalid_argument(function.empty() ? message : function + ": " + message), message_(message) {}
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

}  // namespace mlsd

namespace mlsd::detail {

template <class... Parts>
[[noreturn]] void throw_invalid(const char* function, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw ::mlsd::invalid_argument(function == nullptr ? "" : function, os.str());
}

}  // namespace mlsd::detail

#define MLSD_REQUIRE(cond, function, ...)                 \
  do {                                                    \
    if (!(cond)) ::mlsd::detail::throw_invalid(function, __VA_ARGS__); \
  } while (0)
