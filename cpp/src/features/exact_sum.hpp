// Internal helper of mlsd::features: the exact sum of doubles, the one routine that every window
// sum falls back on when its fast compensated sum cannot vouch for its value (window.cpp).
//
// The sum is kept as an integer counting units of 2^-1074, the doubles' smallest step: any finite
// double is an integer number of such units below 2^2098.  The integer is held in bins of 32 bits'
// reach, one 128-bit count per bin and sign: adding a double adds its 53-bit significand, shifted
// by less than 32 bits (below 2^85), to the 128-bit count of its bin and sign, with no carry to
// propagate beyond it and no branch on the sign.  A count takes 2^42 additions before it could
// overflow; the bins are folded into two's complement digits of 32 bits (68 of them, 2,176 bits:
// the sum of up to 2^77 doubles) before the sum is read, and every 2^28 additions.  Only reading
// the sum rounds: `rounded()` to the nearest double (ties to even, as math.fsum), `split()` to
// that double and the remainder, so that a compensated sum can carry on from the exact value.
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
      pending_ += end - lo;
      if (pending_ == kMaxPending) normalise();
      lo = end;
    }
  }

  // The sum rounded once to the nearest double, ties to even; +-inf for a sum that rounds beyond
  // +-DBL_MAX (where math.fsum raises OverflowError).
  double rounded() const {
    std::int64_t d[kDigits];
    fold(d);
    return round(d);
  }

  // The sum as (rounded(), the remainder sum - rounded() rounded to the nearest double), a
  // compensated sum whose value() is rounded(); (+-inf, 0) beyond the doubles.  A remainder that
  // rounds to half an ulp of rounded() could tip value() the other way: 2^53 + 1 + 2^-1074 rounds to
  // 2^53 + 2, its remainder -1 + 2^-1074 to -1, and (2^53 + 2) + -1 ties to the even 2^53; such a
  // remainder is taken one step towards zero (it was below half an ulp before rounding).
  SplitSum split() const {
    std::int64_t d[kDigits];
    fold(d);
    SplitSum out;
    mlsd::detail::KahanSum& k = out.sum;
    k.sum = round(d);
    if (k.sum == 0) return out;
    if (!std::isfinite(k.sum)) {
      out.exact = false;
      return out;
    }
    subtract(d, k.sum);
    k.comp = round(d);
    if (k.value() != k.sum) k.comp = std::nextafter(k.comp, 0.0);
    subtract(d, k.comp);
    out.exact = round(d) == 0;
    return out;
  }

 private:
  static constexpr int kDigits = 68;  // 2,176 bits: the doubles' 2,098 and 78 for the count and sign
  static constexpr std::int64_t kMaxPending = std::int64_t{1} << 28;  // far below the 2^42 a count takes
  static constexpr std::uint64_t kFraction = (std::uint64_t{1} << 52) - 1;
  static constexpr std::uint64_t kDigit = 0xffffffffu;
  // The sum is sum_j (bins_[0][j] - bins_[1][j]) 2^(32 j) units, bins_[s][j] a 128-bit count
  // (low word, high word): the positive values', then the negative ones'.
  std::uint64_t bins_[2][kDigits][2] = {};
  std::int64_t pending_ = 0;  // additions since the bins were last folded

  // Where a finite double lies among the digits: |x| = (mant << b) 2^(32 j) units of 2^-1074.
  struct Place {
    std::uint64_t mant;
    unsigned j, b;
  };
  [[gnu::always_inline]] static Place place(std::uint64_t bits) {
    const auto biased = static_cast<unsigned>(bits >> 52) & 0x7ffu;
    const unsigned normal = biased != 0;
    const std::uint64_t mant = (bits & kFraction) | (static_cast<std::uint64_t>(normal) << 52);
    const unsigned shift = biased - normal;  // |x| = mant 2^(shift - 1074)
    return {mant, shift / 32, shift % 32};
  }

  // Adds the finite double of these bits, without counting it.
  [[gnu::always_inline]] void put(std::uint64_t bits) {
    const auto [mant, j, b] = place(bits);
    const std::uint64_t lo = mant << b, hi = (mant >> 1) >> (63 - b);
    std::uint64_t* bin = bins_[bits >> 63][j];  // (an index, not a branch: signs are random)
    const bool carry = __builtin_add_overflow(bin[0], lo, &bin[0]);
    bin[1] += hi + carry;
  }

  // The sum's two's complement digits: d[i] in [0, 2^32) but the top one, which is signed.
  void fold(std::int64_t (&d)[kDigits]) const {
    for (auto& x : d) x = 0;
    for (int sign = 0; sign < 2; ++sign) {
      const std::int64_t m = sign == 0 ? 1 : -1;
      for (int j = 0; j < kDigits; ++j) {
        const std::uint64_t lo = bins_[sign][j][0], hi = bins_[sign][j][1];  // hi < 2^50
        const std::int64_t part[4] = {static_cast<std::int64_t>(lo & kDigit), static_cast<std::int64_t>(lo >> 32),
                                      static_cast<std::int64_t>(hi & kDigit), static_cast<std::int64_t>(hi >> 32)};
        for (int p = 0; p < 4 && j + p < kDigits; ++p) d[j + p] += m * part[p];  // |d| < 2^35
      }
    }
    carry(d);
  }

  // Folds the bins into digits and keeps those (one digit per bin), so that counting starts over.
  void normalise() {
    std::int64_t d[kDigits];
    fold(d);
    for (int j = 0; j < kDigits; ++j) {
      bins_[0][j][0] = d[j] >= 0 ? static_cast<std::uint64_t>(d[j]) : 0;
      bins_[1][j][0] = d[j] >= 0 ? 0 : static_cast<std::uint64_t>(-d[j]);  // the top digit only
      bins_[0][j][1] = bins_[1][j][1] = 0;
    }
    pending_ = 0;
  }

  // d -= x (a finite double), d staying two's complement digits.
  static void subtract(std::int64_t (&d)[kDigits], double x) {
    const auto bits = std::bit_cast<std::uint64_t>(x);
    const auto [mant, j, b] = place(bits);
    const std::uint64_t lo = (mant & kDigit) << b, hi = (mant >> 32) << b;  // (mant << b) in 3 digits
    const std::int64_t m = (bits >> 63) ? 1 : -1;
    d[j] += m * static_cast<std::int64_t>(lo & kDigit);
    d[j + 1] += m * static_cast<std::int64_t>((lo >> 32) + (hi & kDigit));
    d[j + 2] += m * static_cast<std::int64_t>(hi >> 32);
    carry(d);
  }

  // Moves each digit's excess over [0, 2^32) up, to the top digit (signed).
  static void carry(std::int64_t (&d)[kDigits]) {
    for (int i = 0; i + 1 < kDigits; ++i) {
      const std::int64_t c = d[i] >> 32;  // floor(d / 2^32)
      d[i] -= static_cast<std::int64_t>(static_cast<std::uint64_t>(c) << 32);
      d[i + 1] += c;
    }
  }

  // The sum of two's complement digits d rounded to the nearest double, ties to even.
  static double round(const std::int64_t (&d)[kDigits]) {
    constexpr int kWords = kDigits / 2;
    std::uint64_t a[kWords];  // the two's complement value in 64-bit words
    for (int j = 0; j < kWords; ++j)
      a[j] = static_cast<std::uint64_t>(d[2 * j]) | (static_cast<std::uint64_t>(d[2 * j + 1]) << 32);
    const bool negative = d[kDigits - 1] < 0;
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
