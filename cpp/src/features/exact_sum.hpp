// Internal helper of mlsd::features: the exact sum of doubles, the one routine that every window
// sum falls back on when its fast compensated sum cannot vouch for its value (window.cpp).
//
// The sum is kept as an integer counting units of 2^-1074, the doubles' smallest step: any finite
// double is an integer number of such units below 2^2098, and 68 digits of 32 bits (2,176 bits)
// hold the sum of up to 2^77 of them.  Each digit has a 64-bit word for the positive values and
// one for the negative ones, so that adding a double adds its 53-bit significand, split into three
// digits, to three words, with no carry to propagate and no branch on its sign; the words are
// normalised (carries moved up, the two halves merged into two's complement digits) every 2^28
// additions, long before a word could overflow, and before the sum is read.  Only reading it
// rounds: `rounded()` to the nearest double (ties to even, as math.fsum), `split()` to that double
// and the remainder, so that a compensated sum can carry on from the exact value.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "mlsd/common/parallel.hpp"

namespace mlsd::features::detail {

// A sum as a double and a remainder (sum.sum + sum.comp), which is the sum itself when `exact`.
struct SplitSum {
  mlsd::detail::KahanSum sum;
  bool exact = true;
};

class ExactSum {
 public:
  // Adds a finite x (NaN and +-inf are the caller's to skip or refuse).
  void add(double x) {
    put(std::bit_cast<std::uint64_t>(x));
    if (++pending_ == kMaxPending) normalise();
  }

  // Adds the non-NaN values v(lo), ..., v(hi - 1) (finite).
  template <class Value>
  void add(Value v, std::int64_t lo, std::int64_t hi) {
    while (lo < hi) {
      const std::int64_t end = std::min(hi, lo + (kMaxPending - pending_));
      for (std::int64_t i = lo; i < end; ++i) {
        const auto bits = std::bit_cast<std::uint64_t>(static_cast<double>(v(i)));
        const bool nan = (bits << 1) > (std::uint64_t{0x7ff} << 53);
        put(bits & (static_cast<std::uint64_t>(nan) - 1));  // NaN: +0, no branch to mispredict
      }
      pending_ += static_cast<int>(end - lo);
      if (pending_ == kMaxPending) normalise();
      lo = end;
    }
  }

  // The sum rounded once to the nearest double, ties to even; +-inf for a sum that rounds beyond
  // +-DBL_MAX (where math.fsum raises OverflowError).
  double rounded() const {
    ExactSum s = *this;
    s.normalise();
    return s.round();
  }

  // The sum as (rounded(), the remainder sum - rounded() rounded to the nearest double), a
  // compensated sum whose value() is rounded(); (+-inf, 0) beyond the doubles.  A remainder that
  // rounds to half an ulp of rounded() could tip value() the other way: 2^53 + 1 + 2^-1074 rounds to
  // 2^53 + 2, its remainder -1 + 2^-1074 to -1, and (2^53 + 2) + -1 ties to the even 2^53; such a
  // remainder is taken one step towards zero (it was below half an ulp before rounding).
  SplitSum split() const {
    ExactSum rest = *this;
    rest.normalise();
    SplitSum out;
    mlsd::detail::KahanSum& k = out.sum;
    k.sum = rest.round();
    if (k.sum == 0) return out;
    if (!std::isfinite(k.sum)) {
      out.exact = false;
      return out;
    }
    rest.add(-k.sum);
    rest.normalise();
    k.comp = rest.round();
    if (k.value() != k.sum) k.comp = std::nextafter(k.comp, 0.0);
    rest.add(-k.comp);
    rest.normalise();
    out.exact = rest.round() == 0;
    return out;
  }

 private:
  static constexpr int kDigits = 68;  // 2,176 bits: the doubles' 2,098 and 78 for the count and sign
  static constexpr int kMaxPending = 1 << 28;
  static constexpr std::uint64_t kFraction = (std::uint64_t{1} << 52) - 1;
  static constexpr std::uint64_t kDigit = 0xffffffffu;
  // The sum is sum_i (digits_[0][i] - digits_[1][i]) 2^(32 i) units: the positive values' digits,
  // then the negative ones'; each addition adds less than 2^33 to three words of one of them.
  std::uint64_t digits_[2][kDigits] = {};
  int pending_ = 0;  // additions since the digits were last normalised

  // The sum's two's complement digits: digits_[0][i] in [0, 2^32) and digits_[1][i] = 0 for every
  // digit but the top one, which holds the sign (its magnitude in digits_[1] when negative).
  void normalise() {
    std::int64_t carry = 0;
    for (int i = 0; i < kDigits; ++i) {
      // |.| < 2^62: normalised digits are below 2^32 and kMaxPending additions add below 2^61
      const std::int64_t v = static_cast<std::int64_t>(digits_[0][i]) - static_cast<std::int64_t>(digits_[1][i]) + carry;
      digits_[1][i] = 0;
      if (i + 1 == kDigits) {
        digits_[0][i] = v >= 0 ? static_cast<std::uint64_t>(v) : 0;
        digits_[1][i] = v >= 0 ? 0 : static_cast<std::uint64_t>(-v);
      } else {
        carry = v >> 32;  // floor(v / 2^32)
        digits_[0][i] = static_cast<std::uint64_t>(v) & kDigit;
      }
    }
    pending_ = 0;
  }

  // Adds the finite double of these bits, without counting it.
  [[gnu::always_inline]] void put(std::uint64_t bits) {
    const auto biased = static_cast<unsigned>(bits >> 52) & 0x7ffu;
    const unsigned normal = biased != 0;
    const std::uint64_t mant = (bits & kFraction) | (static_cast<std::uint64_t>(normal) << 52);
    const unsigned shift = biased - normal;  // |x| = mant 2^(shift - 1074)
    // |x| in units of 2^(32 i): mant 2^b, b < 32, as three digits of at most 33 bits
    const unsigned i = shift / 32, b = shift % 32;
    const std::uint64_t lo = (mant & kDigit) << b, hi = (mant >> 32) << b;
    std::uint64_t* d = digits_[bits >> 63];  // (an index, not a branch: signs are random)
    d[i] += lo & kDigit;
    d[i + 1] += (lo >> 32) + (hi & kDigit);
    d[i + 2] += hi >> 32;
  }

  // The normalised sum rounded to the nearest double, ties to even.
  double round() const {
    std::uint64_t a[kDigits / 2];  // the two's complement value in 64-bit words
    constexpr int kWords = kDigits / 2;
    for (int j = 0; j < kWords; ++j)
      a[j] = digits_[0][2 * j] | ((digits_[0][2 * j + 1] - digits_[1][2 * j + 1]) << 32);  // (the top: signed)
    const bool negative = digits_[1][kDigits - 1] != 0;
    if (negative) {  // |sum|
      bool carry = true;
      for (auto& w : a) {
        w = ~w + carry;
        carry = carry && w == 0;
      }
    }
    int top = kWords - 1;
    while (top >= 0 && a[top] == 0) --top;
    if (top < 0) return 0.0;
    const int h = top * 64 + 63 - std::countl_zero(a[top]);  // the highest bit set
    double out;
    if (h < 53) {  // at most 53 bits: exact, normal or subnormal
      out = std::ldexp(static_cast<double>(a[0]), -1074);
    } else {
      const int r = h - 53;  // the rounding bit; the 53 bits above it are kept
      const int w = (r + 1) / 64, b = (r + 1) % 64;
      std::uint64_t m = a[w] >> b;
      if (b != 0 && w + 1 < kWords) m |= a[w + 1] << (64 - b);
      m &= (kFraction << 1) | 1;
      const bool round_bit = (a[r / 64] >> (r % 64)) & 1;
      bool sticky = (a[r / 64] & ((std::uint64_t{1} << (r % 64)) - 1)) != 0;
      for (int j = 0; j < r / 64 && !sticky; ++j) sticky = a[j] != 0;
      if (round_bit && (sticky || (m & 1))) ++m;  // 2^53 after a carry: still exact as a double
      out = std::ldexp(static_cast<double>(m), r + 1 - 1074);  // inf beyond DBL_MAX
    }
    return negative ? -out : out;
  }
};

// The exact sum of the non-NaN values v(lo), ..., v(hi - 1) (finite: window_aggregate refuses +-inf).
// For the rare frames that the compensated sums cannot vouch for: kept out of the per-row loops
// that call it.
template <class Value>
[[gnu::noinline]] ExactSum exact_sum(Value v, std::int64_t lo, std::int64_t hi) {
  ExactSum s;
  s.add(v, lo, hi);
  return s;
}

}  // namespace mlsd::features::detail
