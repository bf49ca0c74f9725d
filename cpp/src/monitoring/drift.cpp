#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/radix_sort.hpp"
#include "mlsd/monitoring.hpp"
#include "sort_doubles.hpp"

namespace mlsd::monitoring {

namespace {

// Up to this n1 n2 the walks count in integers (see walk_counts).
constexpr double kExactLimit = 1125899906842624.0;  // 2^50

// Whether the integer walks (walk_counts, wasserstein_counts) apply to samples of total weights t1
// and t2 (counts) whose pooled values span [lo, hi]: n1 n2 within kExactLimit, and their sum of
// |D| gap, at most n1 n2 (hi - lo), within a double (values near 1e300 would overflow it where the
// distance itself is finite; the walk in shares then sums |F_ref - F_cur| gap <= hi - lo).
bool counts_fit(double t1, double t2, double lo, double hi) {
  return t1 * t2 <= kExactLimit && (hi - lo) * (t1 * t2) <= std::numeric_limits<double>::max() / 4;
}

// The order-preserving keys of column x's non-missing values, written to s.keys; throws on an
// infinite value.  Returns the number of keys and their minimum and maximum.
struct ColumnKeys {
  std::size_t n = 0;
  std::uint64_t lo = ~std::uint64_t{0}, hi = 0;
};

// Count: also count the keys' top 16 bits into s.top16 (see sorting::sort_keys).
template <bool Count>
ColumnKeys column_keys(std::span<const double> x, sorting::SortScratch& s, std::size_t column, const char* fn) {
  s.keys.resize(x.size());
  s.tmp.resize(x.size());
  if constexpr (Count) s.top16.assign(std::size_t{1} << 16, 0);
  ColumnKeys k;
  std::uint64_t* keys = s.keys.data();
  std::uint32_t* top16 = Count ? s.top16.data() : nullptr;
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (!(std::abs(v) < inf)) {  // NaN (missing, skipped) or infinite
      MLSD_REQUIRE(std::isnan(v), fn, "column ", column, " holds an infinite value at row ", i,
                   "; only finite values and NaN (missing) are allowed");
      continue;
    }
    const std::uint64_t key = detail::double_key(v);
    k.lo = std::min(k.lo, key);
    k.hi = std::max(k.hi, key);
    if constexpr (Count) ++top16[key >> 48];
    keys[k.n++] = key;
  }
  return k;
}

// Sorts the non-missing values of x into `out` (resized); returns the number of missing values.
// `parallel`: the column's buckets are sorted by a oneTBB loop (a column sorted on its own).
template <class Out>
index_t sort_one(std::span<const double> x, sorting::SortScratch& s, Out& out, std::size_t column, const char* fn,
                 bool parallel) {
  // the top-16-bit counts fit the 32-bit counters, and the split uses 16 bits from about 2^19 keys
  const bool count = x.size() >= (std::size_t{1} << 19) && x.size() <= std::numeric_limits<std::uint32_t>::max();
  const ColumnKeys k = count ? column_keys<true>(x, s, column, fn) : column_keys<false>(x, s, column, fn);
  out.resize(k.n);
  sorting::sort_keys(s, k.n, k.lo, k.hi, out.data(), parallel, count ? s.top16.data() : nullptr);
  return static_cast<index_t>(x.size() - k.n);
}

// Whether a loop over `n` columns should run one column per task (each sorted on one thread) rather
// than one column at a time with the work inside each column split: the former whenever there are
// at least as many columns as threads.
bool one_column_per_task(std::size_t n) {
  return n >= static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
}

// NumPy's linear interpolation between a and b (the form np.quantile uses, exact at t = 0 and 1).
double lerp(double a, double b, double t) {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

void check_edges(std::span<const double> edges, std::size_t column, const char* fn) {
  MLSD_REQUIRE(edges.size() != 1, fn, "edges of column ", column, " must hold at least 2 values, got 1");
  for (std::size_t i = 0; i < edges.size(); ++i) {
    MLSD_REQUIRE(std::isfinite(edges[i]), fn, "edges of column ", column, " must be finite");
    MLSD_REQUIRE(i == 0 || edges[i] > edges[i - 1], fn, "edges of column ", column,
                 " must be strictly increasing");
  }
}

// counts of sorted values in the bins of `edges` (outermost bins open)
std::vector<index_t> bin_counts(std::span<const double> sorted, std::span<const double> edges) {
  const std::size_t k = edges.size() < 2 ? 1 : edges.size() - 1;
  std::vector<index_t> counts(k, 0);
  std::size_t prev = 0;
  for (std::size_t b = 0; b + 1 < k; ++b) {
    // bin b ends before the inner edge e_{b+1}: values < e_{b+1}
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), edges[b + 1]);
    const std::size_t pos = static_cast<std::size_t>(it - sorted.begin());
    counts[b] = static_cast<index_t>(pos - prev);
    prev = pos;
  }
  counts[k - 1] = static_cast<index_t>(sorted.size() - prev);
  return counts;
}

// The compensated sum of f(x) over x, in four interleaved compensated sums (four independent
// dependency chains instead of one) added in order at the end.
template <class F>
[[gnu::flatten]] double compensated_sum(std::span<const double> x, F f) {
  detail::KahanSum s[4];
  std::size_t i = 0;
  for (; i + 4 <= x.size(); i += 4) {
    for (int u = 0; u < 4; ++u) s[u].add(f(x[i + u]));
  }
  for (; i < x.size(); ++i) s[0].add(f(x[i]));
  s[0].add(s[1]);
  s[2].add(s[3]);
  s[0].add(s[2]);
  return s[0].value();
}

// The scale rule of Moments: magnitudes up to 2^kScaleAbove are kept as they are.
constexpr int kScaleAbove = 400;

// moments() without the checks (the values are known sorted and finite).
Moments sorted_moments(std::span<const double> x) {
  Moments m;
  m.n = static_cast<index_t>(x.size());
  if (x.empty()) return m;
  int top = 0;
  std::frexp(std::max(std::abs(x.front()), std::abs(x.back())), &top);
  m.e = std::max(0, top - kScaleAbove);
  const double scale = std::ldexp(1.0, -m.e), n = static_cast<double>(x.size());  // exact
  const double mean = compensated_sum(x, [scale](double v) { return v * scale; }) / n;
  m.mean = std::ldexp(mean, m.e);
  m.m2 = compensated_sum(x, [mean, scale](double v) {
    const double d = v * scale - mean;
    return d * d;
  });
  return m;
}

// One merge walk over the pooled sample, for KS and Wasserstein-1.  After the values equal to x,
// F_ref(x) = i / n1 and F_cur(x) = j / n2 (SciPy's searchsorted(side="right") rule for ties); the
// statistics are SciPy's: the largest and smallest of i / n1 - j / n2 (each rounded, then their
// difference) over the pooled values, and the sum of |F_ref - F_cur| times the gaps between
// consecutive pooled values.
//
// Here the walk keeps D = i n2 - j n1 as an integer (no division per value): the largest D and,
// among the values where it is reached, the largest rounded difference (the value SciPy's max
// picks, since rounding keeps the order of different D); W = sum |D| gap / (n1 n2).  The pooled
// sequence is cut into kSegments parts (merge path: each part knows its starting i, j and the value
// before it), walked side by side in one loop, since one walk waits on its own loads and compares;
// the parts combine in a fixed order, so the result never depends on the machine.
class Walker {
 public:
  Walker() = default;
  // The walk of the pooled positions [k, ...) of a and b.
  Walker(std::span<const double> a, std::span<const double> b, std::size_t k) : a_(a.data()), b_(b.data()) {
    const std::size_t n1 = a.size(), n2 = b.size();
    // i: how many of the first k pooled values are a's (ties go to a): the largest i with a[i-1] <= b[k-i]
    std::size_t lo = k > n2 ? k - n2 : 0, hi = std::min(k, n1);
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo + 1) / 2;
      if (a[mid - 1] <= b[k - mid]) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    i_ = lo;
    j_ = k - lo;
    up_ = static_cast<std::int64_t>(n2);
    down_ = static_cast<std::int64_t>(n1);
    d1_ = static_cast<double>(n1);
    d2_ = static_cast<double>(n2);
    D_ = static_cast<std::int64_t>(i_) * up_ - static_cast<std::int64_t>(j_) * down_;
    if (k == 0) {
      prev_ = std::min(a[0], b[0]);
    } else {
      prev_ = std::max(i_ > 0 ? a[i_ - 1] : -std::numeric_limits<double>::infinity(),
                       j_ > 0 ? b[j_ - 1] : -std::numeric_limits<double>::infinity());
    }
  }
  std::size_t i() const { return i_; }
  std::size_t j() const { return j_; }

  // One pooled value while both a[i] and b[j] exist.  Branch-free on which one is next, a coin flip
  // when the samples interleave.
  void step_both() {
    const double va = a_[i_], vb = b_[j_];
    const std::int64_t from_a = va <= vb;
    step(std::min(va, vb), from_a);
    i_ += static_cast<std::size_t>(from_a);
    j_ += static_cast<std::size_t>(1 - from_a);
  }
  // The rest up to (i_end, j_end), the end of this part.
  void finish(std::size_t i_end, std::size_t j_end) {
    while (i_ < i_end && j_ < j_end) step_both();
    for (; i_ < i_end; ++i_) step(a_[i_], 1);
    for (; j_ < j_end; ++j_) step(b_[j_], 0);
  }
  // Merges the parts' results in order: ks_greater, ks_less and n1 n2 W.
  static void combine(const Walker* parts, std::size_t n, ColumnDrift& out) {
    std::int64_t hi = 0, lo = 0;
    double best_hi = 0.0, best_lo = 0.0;
    detail::KahanSum w;
    for (std::size_t p = 0; p < n; ++p) {
      const Walker& s = parts[p];
      best_hi = s.hi_ > hi ? s.best_hi_ : s.hi_ == hi ? std::max(best_hi, s.best_hi_) : best_hi;
      hi = std::max(hi, s.hi_);
      best_lo = s.lo_ < lo ? s.best_lo_ : s.lo_ == lo ? std::min(best_lo, s.best_lo_) : best_lo;
      lo = std::min(lo, s.lo_);
      w.add(s.w_);
    }
    out.ks_greater = best_hi;
    out.ks_less = std::min(1.0, -best_lo);
    out.wasserstein = w.value() / (parts[0].d1_ * parts[0].d2_);
  }

 private:
  // v: the next pooled value, from_a (0 or 1) whether it is a's; i_, j_ count the values before it
  void step(double v, std::int64_t from_a) {
    const double gap = v - prev_;
    if (gap != 0.0) {  // every value equal to prev_ is counted: D_ is n1 n2 (F_ref - F_cur)(prev_)
      w_.add(static_cast<double>(D_ < 0 ? -D_ : D_) * gap);
      if (D_ >= hi_) [[unlikely]] {
        const double r = static_cast<double>(i_) / d1_ - static_cast<double>(j_) / d2_;
        best_hi_ = D_ > hi_ ? r : std::max(best_hi_, r);
        hi_ = D_;
      }
      if (D_ <= lo_) [[unlikely]] {
        const double r = static_cast<double>(i_) / d1_ - static_cast<double>(j_) / d2_;
        best_lo_ = D_ < lo_ ? r : std::min(best_lo_, r);
        lo_ = D_;
      }
    }
    D_ += from_a * (up_ + down_) - down_;
    prev_ = v;
  }

  const double* a_ = nullptr;
  const double* b_ = nullptr;
  std::size_t i_ = 0, j_ = 0;
  std::int64_t up_ = 0, down_ = 0, D_ = 0, hi_ = 0, lo_ = 0;
  double d1_ = 1.0, d2_ = 1.0, prev_ = 0.0, best_hi_ = 0.0, best_lo_ = 0.0;
  detail::KahanSum w_;
};

// flatten: the compensated additions inlined into the loop (a call per pooled value cost ~10% of a
// column's time, with the two walkers' state spilled around each call)
[[gnu::flatten]] void walk_counts(std::span<const double> a, std::span<const double> b, ColumnDrift& out) {
  // two parts, as two local objects (kept in registers), walked side by side
  const std::size_t half = (a.size() + b.size()) / 2;
  Walker w0(a, b, 0), w1(a, b, half);
  const std::size_t i_mid = w1.i(), j_mid = w1.j(), n1 = a.size(), n2 = b.size();
  while (w0.i() < i_mid && w0.j() < j_mid && w1.i() < n1 && w1.j() < n2) {
    w0.step_both();
    w1.step_both();
  }
  w0.finish(i_mid, j_mid);
  w1.finish(n1, n2);
  const Walker parts[2] = {w0, w1};
  Walker::combine(parts, 2, out);
}

// Wasserstein-1 of two samples with whole weights (values ascending, cumulative weights exact), summed
// exactly as walk_counts sums it for the samples with each value repeated weight times (the terms of
// the pooled positions before and from the half go to two sums, added in that order), so that a
// quantile sketch holding every value (weights 1, or its repeated values merged) gives drift's
// distance bit for bit.
double wasserstein_counts(std::span<const double> us, std::span<const double> uc, std::span<const double> vs,
                          std::span<const double> vc) {
  const std::size_t n1 = us.size(), n2 = vs.size();
  const double ut = uc.back(), vt = vc.back();
  const auto t1 = static_cast<std::int64_t>(ut), t2 = static_cast<std::int64_t>(vt);
  const std::int64_t half = (t1 + t2) / 2;
  detail::KahanSum part[2];
  std::size_t i = 0, j = 0;
  double prev = 0.0;
  while (i < n1 || j < n2) {
    const double x = (j == n2 || (i < n1 && us[i] <= vs[j])) ? us[i] : vs[j];
    if (i + j > 0) {
      const auto cu = static_cast<std::int64_t>(i == 0 ? 0.0 : uc[i - 1]);
      const auto cv = static_cast<std::int64_t>(j == 0 ? 0.0 : vc[j - 1]);
      const std::int64_t D = cu * t2 - cv * t1;
      part[cu + cv >= half].add(static_cast<double>(D < 0 ? -D : D) * (x - prev));
    }
    while (i < n1 && us[i] == x) ++i;
    while (j < n2 && vs[j] == x) ++j;
    prev = x;
  }
  detail::KahanSum total;
  total.add(part[0]);
  total.add(part[1]);
  return total.value() / (ut * vt);
}

// The same walk with the shares in floating point, where the integer walk does not fit (counts_fit).
void walk_shares(std::span<const double> ref, std::span<const double> cur, ColumnDrift& out) {
  const std::size_t n1 = ref.size(), n2 = cur.size();
  const double d1 = static_cast<double>(n1), d2 = static_cast<double>(n2);
  double max_diff = 0.0, min_diff = 0.0;
  detail::KahanSum w;
  std::size_t i = 0, j = 0;
  while (i < n1 || j < n2) {
    const double x = (j == n2 || (i < n1 && ref[i] <= cur[j])) ? ref[i] : cur[j];
    while (i < n1 && ref[i] == x) ++i;
    while (j < n2 && cur[j] == x) ++j;
    const double diff = static_cast<double>(i) / d1 - static_cast<double>(j) / d2;
    max_diff = std::max(max_diff, diff);
    min_diff = std::min(min_diff, diff);
    if (i < n1 || j < n2) {
      const double next = (j == n2 || (i < n1 && ref[i] <= cur[j])) ? ref[i] : cur[j];
      w.add(std::abs(diff) * (next - x));
    }
  }
  out.ks_greater = max_diff;
  out.ks_less = std::min(1.0, -min_diff);
  out.wasserstein = w.value();
}

}  // namespace

double Moments::std_dev() const {
  return n > 0 ? std::ldexp(std::sqrt(m2 / static_cast<double>(n)), e) : 0.0;
}

Moments moments(std::span<const double> sorted, const char* fn) {
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    MLSD_REQUIRE(std::isfinite(sorted[i]) && (i == 0 || sorted[i] >= sorted[i - 1]), fn,
                 "sorted_values must be finite and ascending (row ", i, ")");
  }
  return sorted_moments(sorted);
}

std::vector<SortedColumn> sort_columns(std::span<const std::span<const double>> columns) {
  constexpr const char* fn = "sort_columns";
  return run_in_arena([&] {
    std::vector<SortedColumn> out(columns.size());
    if (one_column_per_task(columns.size())) {
      tbb::enumerable_thread_specific<sorting::SortScratch> scratch;
      tbb::parallel_for(std::size_t{0}, columns.size(), [&](std::size_t j) {
        check_interrupt();
        out[j].n_missing = sort_one(columns[j], scratch.local(), out[j].values, j, fn, false);
      });
    } else {
      sorting::SortScratch scratch;
      for (std::size_t j = 0; j < columns.size(); ++j)
        out[j].n_missing = sort_one(columns[j], scratch, out[j].values, j, fn, true);
    }
    return out;
  });
}

std::vector<double> quantile_edges(std::span<const double> sorted, int n_bins) {
  MLSD_REQUIRE(n_bins >= 1, "quantile_edges", "n_bins must be >= 1, got ", n_bins);
  std::vector<double> edges;
  const std::size_t n = sorted.size();
  if (n == 0) return edges;
  const double step = 1.0 / static_cast<double>(n_bins);  // np.linspace(0, 1, n_bins + 1)
  for (int i = 0; i <= n_bins; ++i) {
    const double q = i == n_bins ? 1.0 : static_cast<double>(i) * step;
    const double vi = static_cast<double>(n - 1) * q;
    double e;
    if (vi >= static_cast<double>(n - 1)) {
      e = sorted[n - 1];
    } else {
      const double lo = std::floor(vi);
      const std::size_t i0 = static_cast<std::size_t>(lo);
      e = lerp(sorted[i0], sorted[i0 + 1], vi - lo);
    }
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  if (edges.size() == 1) {
    // A constant reference c: one bin would hold every current value, and PSI / JS / Hellinger would
    // be 0 whatever current holds.  Three bins instead: below c, at c, above c (the outer edges
    // only label the open outer bins).
    const double c = edges[0], inf = std::numeric_limits<double>::infinity();
    const double above = std::nextafter(c, inf);
    edges = {std::nextafter(c, -inf), c, above, std::nextafter(above, inf)};
  }
  return edges;
}

ColumnDrift compare_sorted(std::span<const double> ref, std::span<const double> cur, std::span<const double> edges,
                           int n_bins) {
  ColumnDrift out;
  const std::size_t n1 = ref.size(), n2 = cur.size();
  out.n_ref = static_cast<index_t>(n1);
  out.n_cur = static_cast<index_t>(n2);
  if (edges.empty()) {
    out.edges = quantile_edges(ref, n_bins);
  } else {
    out.edges.assign(edges.begin(), edges.end());
  }
  out.ref_counts = bin_counts(ref, out.edges);
  out.cur_counts = bin_counts(cur, out.edges);
  const Moments m = sorted_moments(ref);
  out.ref_mean = m.mean;
  out.ref_std = m.std_dev();
  if (n1 == 0 || n2 == 0) return out;
  std::size_t unique = 1;
  for (std::size_t i = 1; i < n1; ++i) unique += ref[i] != ref[i - 1];
  out.unique_ref = static_cast<index_t>(unique);
  // D = n1 n2 (F_ref - F_cur) is an integer below 2^50 here: exact in a double, and two values of
  // F_ref - F_cur whose D differ cannot swap order when rounded (they are >= 1 / (n1 n2) apart).
  if (counts_fit(static_cast<double>(n1), static_cast<double>(n2), std::min(ref.front(), cur.front()),
                 std::max(ref.back(), cur.back()))) {
    walk_counts(ref, cur, out);
  } else {
    walk_shares(ref, cur, out);
  }
  return out;
}

std::vector<ColumnDrift> drift_columns(std::span<const std::span<const double>> reference,
                                       std::span<const std::span<const double>> current, bool reference_sorted,
                                       std::span<const std::span<const double>> edges, int n_bins) {
  constexpr const char* fn = "drift_columns";
  MLSD_REQUIRE(reference.size() == current.size(), fn, "reference has ", reference.size(),
               " columns but current has ", current.size());
  MLSD_REQUIRE(edges.empty() || edges.size() == reference.size(), fn, "edges has ", edges.size(),
               " entries but there are ", reference.size(), " columns");
  MLSD_REQUIRE(n_bins >= 1, fn, "n_bins must be >= 1, got ", n_bins);
  for (std::size_t c = 0; c < edges.size(); ++c) check_edges(edges[c], c, fn);
  // A column's sorted values, kept by its thread for the next column (no allocation per column).
  struct Work {
    sorting::SortScratch scratch, scratch2;
    buffer<double> ref, cur;
  };
  auto column = [&](std::size_t c, Work& w, bool parallel) {
    const std::span<const double> e = edges.empty() ? std::span<const double>{} : edges[c];
    index_t missing_ref = 0, missing_cur = 0;
    auto sort_ref = [&] {
      if (!reference_sorted) {
        // one thread sorts both one after the other: one scratch (16 MB less to fault in per thread)
        missing_ref = sort_one(reference[c], parallel ? w.scratch2 : w.scratch, w.ref, c, fn, parallel);
        return;
      }
      const auto r = reference[c];
      for (std::size_t i = 0; i < r.size(); ++i) {
        MLSD_REQUIRE(std::isfinite(r[i]) && (i == 0 || r[i] >= r[i - 1]), fn, "sorted reference column ", c,
                     " must be finite and ascending");
      }
    };
    auto sort_cur = [&] { missing_cur = sort_one(current[c], w.scratch, w.cur, c, fn, parallel); };
    if (parallel) {
      tbb::parallel_invoke(sort_ref, sort_cur);
    } else {
      sort_ref();
      sort_cur();
    }
    const std::span<const double> r = reference_sorted ? reference[c] : std::span<const double>(w.ref);
    ColumnDrift d = compare_sorted(r, w.cur, e, n_bins);
    d.missing_ref = missing_ref;
    d.missing_cur = missing_cur;
    return d;
  };
  return run_in_arena([&] {
    std::vector<ColumnDrift> out(reference.size());
    if (one_column_per_task(reference.size())) {
      tbb::enumerable_thread_specific<Work> work;
      tbb::parallel_for(std::size_t{0}, reference.size(), [&](std::size_t c) {
        check_interrupt();
        out[c] = column(c, work.local(), false);
      });
    } else {
      Work w;
      for (std::size_t c = 0; c < reference.size(); ++c) out[c] = column(c, w, true);
    }
    return out;
  });
}

double wasserstein_distance(std::span<const double> u, std::span<const double> v, std::span<const double> u_weights,
                            std::span<const double> v_weights) {
  constexpr const char* fn = "wasserstein_distance";
  MLSD_REQUIRE(!u.empty() && !v.empty(), fn, "u_values and v_values must not be empty");
  MLSD_REQUIRE(u_weights.empty() || u_weights.size() == u.size(), fn, "u_weights has ", u_weights.size(),
               " values but u_values has ", u.size());
  MLSD_REQUIRE(v_weights.empty() || v_weights.size() == v.size(), fn, "v_weights has ", v_weights.size(),
               " values but v_values has ", v.size());
  for (double x : u) MLSD_REQUIRE(std::isfinite(x), fn, "u_values must be finite");
  for (double x : v) MLSD_REQUIRE(std::isfinite(x), fn, "v_values must be finite");
  const std::span<const double> weights[2] = {u_weights, v_weights};
  const char* names[2] = {"u_weights", "v_weights"};
  for (int s = 0; s < 2; ++s) {
    double total = 0.0;
    for (double x : weights[s]) {
      MLSD_REQUIRE(std::isfinite(x) && x >= 0.0, fn, names[s], " must be finite and >= 0");
      total += x;
    }
    // SciPy's rule: a sum of finite weights can still overflow to inf, and every CDF would be 0 or NaN
    MLSD_REQUIRE(weights[s].empty() || (total > 0.0 && std::isfinite(total)), fn, names[s],
                 " must sum to a positive finite value, got ", total);
  }
  return run_in_arena([&] {
    // each sample sorted with its weights; cumulative weights summed left to right (np.cumsum)
    auto cdf = [](std::span<const double> x, std::span<const double> w) {
      std::vector<std::size_t> order(x.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      // already ascending (a profile's sketch against sorted current values): the order is the identity
      if (!std::is_sorted(x.begin(), x.end()))
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
      std::vector<double> xs(x.size()), cum(x.size());
      double acc = 0.0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xs[i] = x[order[i]];
        acc += w.empty() ? 1.0 : w[order[i]];
        cum[i] = acc;
      }
      return std::make_pair(std::move(xs), std::move(cum));
    };
    auto [us, uc] = cdf(u, u_weights);
    auto [vs, vc] = cdf(v, v_weights);
    const double ut = uc.back(), vt = vc.back();
    auto whole = [](std::span<const double> w) {
      return std::all_of(w.begin(), w.end(), [](double x) { return x == std::floor(x); });
    };
    if (whole(u_weights) && whole(v_weights) &&
        counts_fit(ut, vt, std::min(us.front(), vs.front()), std::max(us.back(), vs.back())))
      return wasserstein_counts(us, uc, vs, vc);
    const std::size_t n1 = us.size(), n2 = vs.size();
    std::size_t i = 0, j = 0;
    detail::KahanSum s;
    while (i < n1 || j < n2) {
      const double x = (j == n2 || (i < n1 && us[i] <= vs[j])) ? us[i] : vs[j];
      while (i < n1 && us[i] == x) ++i;
      while (j < n2 && vs[j] == x) ++j;
      if (i == n1 && j == n2) break;
      const double fu = i == 0 ? 0.0 : uc[i - 1] / ut, fv = j == 0 ? 0.0 : vc[j - 1] / vt;
      const double next = (j == n2 || (i < n1 && us[i] <= vs[j])) ? us[i] : vs[j];
      s.add(std::abs(fu - fv) * (next - x));
    }
    return s.value();
  });
}

}  // namespace mlsd::monitoring
