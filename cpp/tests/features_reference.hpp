// Test helpers of the features family, one home for both of its test files: random integers and
// the as-of match by its definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "mlsd/features.hpp"

namespace mlsd::features::testing {

using iv = std::vector<std::int64_t>;

inline iv uniform(std::size_t n, std::int64_t lo, std::int64_t hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> d(lo, hi);
  iv x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// The definition, row by row: the visible row with the latest (time, created, row).
inline iv brute_match(const iv& sc, const iv& st, const iv& fc, const iv& ft, const iv& cr, const AsofOptions& o) {
  iv out(sc.size(), -1);
  for (std::size_t i = 0; i < sc.size(); ++i) {
    if (sc[i] < 0) continue;
    std::int64_t best = -1;
    for (std::size_t j = 0; j < fc.size(); ++j) {
      if (fc[j] != sc[i]) continue;
      const bool t_ok = o.allow_exact_matches ? ft[j] <= st[i] : ft[j] < st[i];
      const bool c_ok = cr.empty() || (o.allow_exact_matches ? cr[j] <= st[i] : cr[j] < st[i]);
      if (!t_ok || !c_ok) continue;
      if (best < 0 || ft[j] > ft[best] || (ft[j] == ft[best] && (cr.empty() || cr[j] >= cr[best])))
        best = static_cast<std::int64_t>(j);
    }
    if (best >= 0 && o.has_ttl && static_cast<__int128>(st[i]) - ft[best] > o.ttl) best = -1;  // no overflow
    out[i] = best;
  }
  return out;
}

}  // namespace mlsd::features::testing
