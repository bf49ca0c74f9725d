// Exact k-NN: the scores of a block of queries against a tile of items come from one BLAS sgemm
// call sized to stay in cache, and are scanned for the top-k while hot.  Tasks are
// (query block, item chunk) pairs run by oneTBB; every task calls a single-threaded sgemm, so BLAS
// never starts threads of its own on top of TBB's.
//
// The float32 scores only choose candidates: every item whose float32 score lies within a proven
// bound of the running k-th best is rescored at once in double precision from the original
// vectors, one pair at a time, into a second top-k (memory stays O(k) per query even when many
// items tie, as duplicates or constant data do).  So the result is the top-k of the
// double-precision scores (ties by id), whatever the tiling, chunking, thread count or split of
// the items into shards.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include "mlsd/common/checks.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/topk.hpp"
#include "mlsd/retrieval.hpp"
#include "blas.hpp"
#include "distances.hpp"
#include "exact_rows.hpp"

namespace mlsd::retrieval {
namespace {

using detail::Candidate;
using detail::DistanceFn;
using detail::inner_product_fn;
using detail::SelectFn;
using detail::select_at_least_fn;
using detail::TopKHeap;

// A tile of kQueryBlock x kItemTile float scores is 1 MiB.  Sizes measured on 1M x 128 items and
// 1,000 queries (2-core Zen): 128 x 1024 took 2.1 s, 512 x 512 1.8 s, 64 x 4096 2.5 s; larger
// query blocks let each sgemm reuse the packed item tile for more queries.
constexpr index_t kQueryBlock = 512;
constexpr index_t kItemTile = 512;
// Query blocks this small are scored with direct dot products instead of sgemm.
constexpr index_t kDirectQueries = 4;

index_t count_allowed(AllowBits allow, index_t n) {
  index_t c = 0;
  for (index_t r = 0; r < n; ++r) c += allowed(allow, r) ? 1 : 0;
  return c;
}

// The largest squared row norm, in double (a max: the same for any split of the work).
double max_row_sqnorm(std::span<const float> x, index_t d) {
  const index_t n = static_cast<index_t>(x.size()) / d;
  return tbb::parallel_reduce(
      tbb::blocked_range<index_t>(0, n, 4096), 0.0,
      [&](const auto& r, double m) {
        for (index_t i = r.begin(); i != r.end(); ++i) {
          const float* v = x.data() + i * d;
          double s = 0.0;
          for (index_t j = 0; j < d; ++j) s += static_cast<double>(v[j]) * v[j];
          m = std::max(m, s);
        }
        return m;
      },
      [](double a, double b) { return std::max(a, b); });
}

// Per query, how far below the running k-th best float32 key a candidate must still be kept.
// With u = 2^-24, a float32 dot product of length d is off by at most d u |q| |x| in any
// summation order (blocked sgemm, SIMD lanes, FMA); the l2 key 2<q, x> - |x|^2 of vectors centred
// in float32 is off from |q|^2 - |q - x|^2 of the original vectors by at most (d + 4) u (|q| + |x|)^2;
// rounding the final score to float32 adds u times the same scale.  Keys of the true top-k are
// therefore within twice the sum of these of the k-th best float32 key; the window doubles it
// again for slack.  Where a float32 key or product could overflow (norms near 1e19) no bound
// holds: the window is infinite and every item is rescored (see scan_block).
// Products and scores in float32's subnormal range are off by up to eta = 2^-150 each, whatever
// their size (u bounds only normal numbers): 2d eta for 2<q, x>, d eta for |x|^2, eta for the
// final score; the window adds 4 (3d + 1) eta, again twice that sum for two keys, doubled.
std::vector<float> key_windows(std::span<const float> queries, index_t d, bool l2, double max_item_sqnorm) {
  const index_t nq = static_cast<index_t>(queries.size()) / d;
  constexpr double u = 1.0 / 16777216.0;
  const double x_norm = std::sqrt(max_item_sqnorm * (1.0 + (static_cast<double>(d) + 4.0) * u));
  const double factor = 4.0 * (static_cast<double>(d) + 8.0) * u;
  const double underflow = (3.0 * static_cast<double>(d) + 1.0) * std::ldexp(1.0, -148);
  std::vector<float> out(static_cast<std::size_t>(nq));
  for (index_t q = 0; q < nq; ++q) {
    const float* v = queries.data() + q * d;
    double s = 0.0;
    for (index_t j = 0; j < d; ++j) s += static_cast<double>(v[j]) * v[j];
    const double q_norm = std::sqrt(s);
    const double scale = l2 ? (q_norm + x_norm) * (q_norm + x_norm) : q_norm * x_norm;
    const double w = factor * scale + underflow;
    out[static_cast<std::size_t>(q)] = scale < static_cast<double>(std::numeric_limits<float>::max()) / 8
                                           ? static_cast<float>(w * (1.0 + 1e-6))
                                           : std::numeric_limits<float>::infinity();
  }
  return out;
}

struct KnnProblem {
  std::span<const float> queries;      // as scanned: centred on `center` for l2 with a centre
  std::span<const float> raw_queries;  // as given: the final scores are computed from these
  std::span<const float> items;        // as given (an l2 tile is centred when scanned)
  index_t d, k, nq, n;
  bool l2;
  std::span<const index_t> ids;
  AllowBits allow;
  std::span<const float> item_sqnorms;  // l2: |item - center|^2
  std::span<const float> center;        // l2: the point both sides are centred on, or empty
  std::span<const float> window;        // per query, see key_windows
};

// The final score of query q (as given) against item row: in double precision from the vectors,
// one pair at a time, so it is a function of the query and the item alone (sharded, filtered and
// unsharded searches report identical numbers); as a key, larger is better.
float exact_key(const KnnProblem& p, index_t q, index_t row) {
  const float* qv = p.raw_queries.data() + q * p.d;
  const float* xv = p.items.data() + row * p.d;
  double s = 0.0;
  for (index_t j = 0; j < p.d; ++j) {
    const double a = qv[j], b = xv[j];
    s += p.l2 ? (a - b) * (a - b) : a * b;
  }
  const auto f = static_cast<float>(s);
  return p.l2 ? -f : f;
}

// Queries [q0, q1) over items [i0, i1): heaps[(q - q0) * k ...] the top-k float32 keys, and
// exact[(q - q0) * k ...] the top-k by exact_key of every item whose float32 key came within the
// query's window of the running k-th (a superset of the chunk's share of the true top-k).
void scan_block(const KnnProblem& p, index_t q0, index_t q1, index_t i0, index_t i1,
                std::span<Candidate> heaps, std::span<Candidate> exact, std::vector<float>& tile,
                std::vector<float>& centred) {
  const index_t nqb = q1 - q0;
  for (index_t q = 0; q < nqb; ++q) {
    TopKHeap(heaps.subspan(static_cast<std::size_t>(q * p.k), static_cast<std::size_t>(p.k))).reset();
    TopKHeap(exact.subspan(static_cast<std::size_t>(q * p.k), static_cast<std::size_t>(p.k))).reset();
  }
  const float alpha = p.l2 ? 2.0f : 1.0f;  // l2 key: 2<q,x> - |x|^2 = |q|^2 - |q - x|^2
  const SelectFn select = select_at_least_fn();
  std::vector<std::uint32_t> hit_buffer(static_cast<std::size_t>(kItemTile));
  for (index_t t0 = i0; t0 < i1; t0 += kItemTile) {
    check_interrupt();  // a task may scan every item: check per tile
    const index_t nt = std::min(kItemTile, i1 - t0);
    const float* xs = p.items.data() + t0 * p.d;
    if (!p.center.empty()) {  // the tile minus the centre, rounded as squared_norms rounds it
      for (index_t j = 0; j < nt; ++j) {
        for (index_t c = 0; c < p.d; ++c) {
          centred[static_cast<std::size_t>(j * p.d + c)] = xs[j * p.d + c] - p.center[static_cast<std::size_t>(c)];
        }
      }
      xs = centred.data();
    }
    if (nqb <= kDirectQueries) {
      // A few queries: sgemm would copy (pack) every item tile to reuse it only a few times, so
      // the scan is memory-bound twice over.  Plain SIMD dot products read each item once.
      const DistanceFn dot = inner_product_fn();
      for (index_t j = 0; j < nt; ++j) {
        const float* x = xs + j * p.d;
        for (index_t q = 0; q < nqb; ++q) {
          tile[static_cast<std::size_t>(q * nt + j)] =
              alpha * dot(p.queries.data() + (q0 + q) * p.d, x, static_cast<std::size_t>(p.d));
        }
      }
    } else {
      blas::gemm_nt(nqb, nt, p.d, alpha, p.queries.data() + q0 * p.d, xs, tile.data());
    }
    if (p.l2) {  // key = 2<q, x> - |x|^2
      for (index_t q = 0; q < nqb; ++q) {
        float* row = tile.data() + q * nt;
        const float* sq = p.item_sqnorms.data() + t0;
        for (index_t j = 0; j < nt; ++j) row[j] -= sq[j];
      }
    }
    for (index_t q = 0; q < nqb; ++q) {
      TopKHeap heap(heaps.subspan(static_cast<std::size_t>(q * p.k), static_cast<std::size_t>(p.k)));
      TopKHeap kept(exact.subspan(static_cast<std::size_t>(q * p.k), static_cast<std::size_t>(p.k)));
      const float w = p.window[static_cast<std::size_t>(q0 + q)];
      if (std::isinf(w)) {  // float32 keys may be infinite or NaN: every allowed item is rescored
        for (index_t j = 0; j < nt; ++j) {
          const index_t item = t0 + j;
          if (!allowed(p.allow, item)) continue;
          kept.push({exact_key(p, q0 + q, item), p.ids.empty() ? item : p.ids[static_cast<std::size_t>(item)], item});
        }
        continue;
      }
      const float* row = tile.data() + q * nt;
      // The threshold only rises while this tile is scanned, so the hits found with its value at
      // the start are a superset of the candidates that can still be kept; each is rechecked.
      const std::size_t hits = select(row, static_cast<std::size_t>(nt), heap.threshold() - w, hit_buffer.data());
      for (std::size_t h = 0; h < hits; ++h) {
        const index_t item = t0 + hit_buffer[h];
        if (!allowed(p.allow, item)) continue;
        const Candidate c{row[hit_buffer[h]], p.ids.empty() ? item : p.ids[static_cast<std::size_t>(item)], item};
        heap.push(c);
        if (c.key >= heap.threshold() - w) kept.push({exact_key(p, q0 + q, item), c.id, item});
      }
    }
  }
}

TopK knn_impl(KnnProblem p) {
  TopK out;
  out.n_queries = p.nq;
  out.k = p.k;
  out.scores.resize(static_cast<std::size_t>(p.nq * p.k));
  out.ids.resize(static_cast<std::size_t>(p.nq * p.k));
  if (p.nq == 0) return out;
  // Heaps hold at most n candidates however large k is; rows are padded to k at the end.
  const index_t k_out = p.k;
  p.k = std::max<index_t>(1, std::min(p.k, p.n));

  const index_t n_qblocks = (p.nq + kQueryBlock - 1) / kQueryBlock;
  const index_t max_chunks = std::max<index_t>(1, (p.n + kItemTile - 1) / kItemTile);
  const index_t wanted_tasks = 4 * static_cast<index_t>(get_num_threads());
  const index_t n_chunks = std::clamp<index_t>((wanted_tasks + n_qblocks - 1) / n_qblocks, 1, max_chunks);
  // Chunks are whole tiles, so an item's place in a tile (and thus its sgemm score, to the last
  // bit) does not depend on the thread count.
  const index_t chunk = (max_chunks + n_chunks - 1) / n_chunks * kItemTile;

  // heaps[c][q][0..k): the top-k float32 keys of query q over item chunk c; exact[c][q][0..k):
  // the top-k exact keys of the candidates within the query's window of them (see key_windows).
  std::vector<Candidate> heaps(static_cast<std::size_t>(n_chunks * p.nq * p.k));
  std::vector<Candidate> exact(heaps.size());
  tbb::parallel_for(tbb::blocked_range<index_t>(0, n_qblocks * n_chunks, 1), [&](const auto& r) {
    std::vector<float> tile(static_cast<std::size_t>(kQueryBlock * kItemTile));
    std::vector<float> centred(p.center.empty() ? 0 : static_cast<std::size_t>(kItemTile * p.d));
    for (index_t task = r.begin(); task != r.end(); ++task) {
      const index_t b = task / n_chunks, c = task % n_chunks;
      const index_t q0 = b * kQueryBlock, q1 = std::min(p.nq, q0 + kQueryBlock);
      const index_t i0 = std::min(p.n, c * chunk), i1 = std::min(p.n, i0 + chunk);
      auto dst = std::span<Candidate>(heaps).subspan(static_cast<std::size_t>((c * p.nq + q0) * p.k),
                                                     static_cast<std::size_t>((q1 - q0) * p.k));
      auto kept = std::span<Candidate>(exact).subspan(static_cast<std::size_t>((c * p.nq + q0) * p.k),
                                                      static_cast<std::size_t>((q1 - q0) * p.k));
      scan_block(p, q0, q1, i0, i1, dst, kept, tile, centred);
    }
  });

  // Each chunk's exact top-k holds its share of the true top-k: their merge is the top-k.
  tbb::parallel_for(tbb::blocked_range<index_t>(0, p.nq, 64), [&](const auto& r) {
    std::vector<Candidate> merged(static_cast<std::size_t>(p.k));
    const float pad = p.l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    for (index_t q = r.begin(); q != r.end(); ++q) {
      TopKHeap m(merged);
      m.reset();
      for (index_t c = 0; c < n_chunks; ++c) {
        for (index_t j = 0; j < p.k; ++j) {
          const Candidate& cand = exact[static_cast<std::size_t>((c * p.nq + q) * p.k + j)];
          if (cand.row >= 0) m.push(cand);
        }
      }
      m.sort_best_first();
      float* so = out.scores.data() + q * k_out;
      index_t* io = out.ids.data() + q * k_out;
      for (index_t j = 0; j < k_out; ++j) {
        const bool empty = j >= p.k || merged[static_cast<std::size_t>(j)].row < 0;
        so[j] = empty ? pad : (p.l2 ? -merged[static_cast<std::size_t>(j)].key : merged[static_cast<std::size_t>(j)].key);
        io[j] = empty ? index_t{-1} : merged[static_cast<std::size_t>(j)].id;
      }
    }
  });
  return out;
}

}  // namespace

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::inner_product: return "ip";
    case Metric::l2: return "l2";
    case Metric::cosine: return "cosine";
  }
  return "?";
}

TopK knn(std::span<const float> queries, std::span<const float> items, index_t d, index_t k, Metric metric,
         std::span<const index_t> ids, AllowBits allow, std::span<const float> item_sqnorms) {
  constexpr const char* fn = "knn";
  MLSD_REQUIRE(d >= 1, fn, "d must be >= 1, got ", d);
  MLSD_REQUIRE(k >= 1, fn, "k must be >= 1, got ", k);
  MLSD_REQUIRE(metric != Metric::cosine, fn, "normalise the vectors and use the inner product for cosine");
  MLSD_REQUIRE(queries.size() % static_cast<std::size_t>(d) == 0 && items.size() % static_cast<std::size_t>(d) == 0,
               fn, "queries and items must have ", d, " columns");
  const index_t n = static_cast<index_t>(items.size()) / d;
  MLSD_REQUIRE(ids.empty() || static_cast<index_t>(ids.size()) == n, fn, "ids must have one entry per item");
  MLSD_REQUIRE(allow.empty() || static_cast<index_t>(allow.size()) >= (n + 7) / 8, fn,
               "allow bitmap must have at least ", (n + 7) / 8, " bytes");
  MLSD_REQUIRE(item_sqnorms.empty() || static_cast<index_t>(item_sqnorms.size()) == n, fn,
               "item_sqnorms must have one entry per item");

  return run_in_arena([&] {
    mlsd::detail::check_finite_rows(queries, d, fn, "queries");
    mlsd::detail::check_finite_rows(items, d, fn, "items");
    if (metric != Metric::l2 || !item_sqnorms.empty()) {
      return detail::knn_rows(queries, items, d, k, metric, ids, allow, item_sqnorms, {});
    }
    // l2: the scan centres both sides on the items' mean.  The kernel's |x|^2 - 2<q, x> loses
    // all precision in float32 when the data sit far from the origin; distances do not change.
    const std::vector<float> center = detail::column_mean(items, d);
    return detail::knn_rows(queries, items, d, k, metric, ids, allow, {}, center);
  });
}

void detail::subtract_center(std::span<const float> x, std::span<const float> center, std::span<float> out) {
  const auto d = static_cast<index_t>(center.size());
  const index_t rows = static_cast<index_t>(x.size()) / d;
  tbb::parallel_for(tbb::blocked_range<index_t>(0, rows, 4096), [&](const auto& r) {
    for (index_t i = r.begin(); i != r.end(); ++i) {
      const float* in = x.data() + i * d;
      float* o = out.data() + i * d;
      for (index_t j = 0; j < d; ++j) o[j] = in[j] - center[static_cast<std::size_t>(j)];
    }
  });
}

std::vector<float> detail::column_mean(std::span<const float> x, index_t d) {
  const index_t n = static_cast<index_t>(x.size()) / d;
  std::vector<double> sum(static_cast<std::size_t>(d), 0.0);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < d; ++j) sum[static_cast<std::size_t>(j)] += x[static_cast<std::size_t>(i * d + j)];
  }
  std::vector<float> mean(static_cast<std::size_t>(d), 0.0f);
  for (index_t j = 0; j < d && n > 0; ++j) {
    mean[static_cast<std::size_t>(j)] = static_cast<float>(sum[static_cast<std::size_t>(j)] / static_cast<double>(n));
  }
  return mean;
}

std::vector<float> detail::centred_sqnorms(std::span<const float> x, index_t d, std::span<const float> center) {
  const index_t n = d > 0 ? static_cast<index_t>(x.size()) / d : 0;
  std::vector<float> out(static_cast<std::size_t>(n));
  tbb::parallel_for(tbb::blocked_range<index_t>(0, n, 4096), [&](const auto& r) {
    for (index_t i = r.begin(); i != r.end(); ++i) {
      const float* v = x.data() + i * d;
      float s = 0.0f;
      for (index_t j = 0; j < d; ++j) {
        const float c = v[j] - (center.empty() ? 0.0f : center[static_cast<std::size_t>(j)]);
        s += c * c;
      }
      out[static_cast<std::size_t>(i)] = s;
    }
  });
  return out;
}

TopK detail::knn_rows(std::span<const float> queries, std::span<const float> items, index_t d, index_t k,
                      Metric metric, std::span<const index_t> ids, AllowBits allow,
                      std::span<const float> item_sqnorms, std::span<const float> center) {
  const index_t n = static_cast<index_t>(items.size()) / d;
  return run_in_arena([&] {
    blas::SingleThreaded blas_guard;
    const bool l2 = metric == Metric::l2;
    if (!l2) center = {};
    std::vector<float> centred_queries;
    std::span<const float> scanned = queries;
    if (!center.empty()) {
      centred_queries.resize(queries.size());
      subtract_center(queries, center, centred_queries);
      scanned = centred_queries;
    }
    std::vector<float> norms;
    if (l2 && item_sqnorms.empty()) {
      norms = centred_sqnorms(items, d, center);
      item_sqnorms = norms;
    }
    double max_sqnorm = 0.0;
    if (l2) {
      for (float v : item_sqnorms) max_sqnorm = std::max(max_sqnorm, static_cast<double>(v));
    } else {
      max_sqnorm = max_row_sqnorm(items, d);
    }
    const std::vector<float> window = key_windows(scanned, d, l2, max_sqnorm);
    KnnProblem p{scanned, queries, items, d, k, static_cast<index_t>(queries.size()) / d, n, l2, ids, allow,
                 item_sqnorms, center, window};

    // A selective filter: gather the allowed items and search only those.
    if (!allow.empty()) {
      const index_t n_allowed = count_allowed(allow, n);
      if (n_allowed * 8 <= n) {
        std::vector<float> sub(static_cast<std::size_t>(n_allowed * d));
        std::vector<index_t> sub_ids(static_cast<std::size_t>(n_allowed));
        std::vector<float> sub_norms(l2 ? static_cast<std::size_t>(n_allowed) : 0);
        index_t j = 0;
        for (index_t r = 0; r < n; ++r) {
          if (!allowed(allow, r)) continue;
          std::copy_n(items.data() + r * d, d, sub.data() + j * d);
          sub_ids[static_cast<std::size_t>(j)] = ids.empty() ? r : ids[static_cast<std::size_t>(r)];
          if (l2) sub_norms[static_cast<std::size_t>(j)] = item_sqnorms[static_cast<std::size_t>(r)];
          ++j;
        }
        p.items = sub;
        p.n = n_allowed;
        p.ids = sub_ids;
        p.allow = {};
        p.item_sqnorms = sub_norms;
        return knn_impl(p);
      }
    }
    return knn_impl(p);
  });
}

TopK merge_topk(std::span<const TopK* const> parts, index_t k, Metric metric) {
  constexpr const char* fn = "merge_topk";
  MLSD_REQUIRE(k >= 1, fn, "k must be >= 1, got ", k);
  MLSD_REQUIRE(!parts.empty(), fn, "needs at least one part");
  const index_t nq = parts[0]->n_queries;
  for (const TopK* p : parts) {
    MLSD_REQUIRE(p->n_queries == nq, fn, "every part must have the same number of queries (", nq, "), got ",
                 p->n_queries);
    MLSD_REQUIRE(static_cast<index_t>(p->scores.size()) == p->n_queries * p->k &&
                     p->ids.size() == p->scores.size(),
                 fn, "each part must hold n_queries * k scores and ids");
  }
  const bool l2 = metric == Metric::l2;
  TopK out;
  out.n_queries = nq;
  out.k = k;
  out.scores.resize(static_cast<std::size_t>(nq * k));
  out.ids.resize(static_cast<std::size_t>(nq * k));
  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<index_t>(0, nq, 64), [&](const auto& r) {
      std::vector<Candidate> slots(static_cast<std::size_t>(k));
      for (index_t q = r.begin(); q != r.end(); ++q) {
        TopKHeap heap(slots);
        heap.reset();
        for (const TopK* p : parts) {
          for (index_t j = 0; j < p->k; ++j) {
            const index_t id = p->ids[static_cast<std::size_t>(q * p->k + j)];
            if (id == -1) continue;  // padding
            const float s = p->scores[static_cast<std::size_t>(q * p->k + j)];
            heap.push({l2 ? -s : s, id, 0});
          }
        }
        heap.sort_best_first();
        const float pad = l2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
        for (index_t j = 0; j < k; ++j) {
          const Candidate& c = slots[static_cast<std::size_t>(j)];
          const bool empty = c.row < 0;
          out.scores[static_cast<std::size_t>(q * k + j)] = empty ? pad : (l2 ? -c.key : c.key);
          out.ids[static_cast<std::size_t>(q * k + j)] = empty ? -1 : c.id;
        }
      }
    });
  });
  return out;
}

double recall_at_k(std::span<const index_t> approx, index_t approx_width, std::span<const index_t> exact,
                   index_t exact_width, index_t n_queries, index_t k) {
  constexpr const char* fn = "recall_at_k";
  MLSD_REQUIRE(k >= 1 && k <= approx_width && k <= exact_width, fn, "k must be in [1, ",
               std::min(approx_width, exact_width), "], got ", k);
  MLSD_REQUIRE(static_cast<index_t>(approx.size()) == n_queries * approx_width &&
                   static_cast<index_t>(exact.size()) == n_queries * exact_width,
               fn, "approx_ids and exact_ids must have n_queries rows");
  struct Acc {
    double sum = 0.0;
    index_t n = 0;
  };
  const Acc total = run_in_arena([&] {
    return mlsd::detail::ordered_reduce(
        n_queries, Acc{},
        [&](index_t b, index_t e) {
          Acc a;
          std::vector<index_t> truth;
          for (index_t q = b; q < e; ++q) {
            truth.clear();
            for (index_t j = 0; j < k; ++j) {
              const index_t id = exact[static_cast<std::size_t>(q * exact_width + j)];
              if (id != -1) truth.push_back(id);
            }
            if (truth.empty()) continue;
            std::sort(truth.begin(), truth.end());
            truth.erase(std::unique(truth.begin(), truth.end()), truth.end());
            index_t hits = 0;
            for (index_t j = 0; j < k; ++j) {
              const index_t id = approx[static_cast<std::size_t>(q * approx_width + j)];
              if (id == -1) continue;
              // Count each true id once even if approx repeats it.
              bool seen = false;
              for (index_t jj = 0; jj < j; ++jj) seen = seen || approx[static_cast<std::size_t>(q * approx_width + jj)] == id;
              if (!seen && std::binary_search(truth.begin(), truth.end(), id)) ++hits;
            }
            a.sum += static_cast<double>(hits) / static_cast<double>(truth.size());
            ++a.n;
          }
          return a;
        },
        [](Acc a, const Acc& b) {
          a.sum += b.sum;
          a.n += b.n;
          return a;
        },
        1024);
  });
  return total.n == 0 ? std::numeric_limits<double>::quiet_NaN() : total.sum / static_cast<double>(total.n);
}

void normalize_rows(std::span<float> x, index_t d, const char* function, const char* argument) {
  const index_t n = static_cast<index_t>(x.size()) / d;
  run_in_arena([&] {
    tbb::parallel_for(tbb::blocked_range<index_t>(0, n, 4096), [&](const auto& r) {
      for (index_t i = r.begin(); i != r.end(); ++i) {
        float* v = x.data() + i * d;
        double s = 0.0;
        for (index_t j = 0; j < d; ++j) s += static_cast<double>(v[j]) * v[j];
        MLSD_REQUIRE(s > 0.0, function, argument, " row ", i,
                     " has zero norm; cosine similarity is undefined for it");
        // Scale in double: 1 / norm overflows float for norms below ~1e-38.
        const double norm = std::sqrt(s);
        for (index_t j = 0; j < d; ++j) v[j] = static_cast<float>(v[j] / norm);
      }
    });
  });
}

}  // namespace mlsd::retrieval
