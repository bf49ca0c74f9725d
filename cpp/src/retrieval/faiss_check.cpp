// The layout walked here is FAISS 1.7.3's (faiss/impl/index_write.cpp): scalars little-endian, a
// std::vector as a uint64 count then its items, an IndexFlat's codes as a uint64 count of 4-byte
// words.  Only the kinds of spec.hpp are accepted.
#include "faiss_check.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "mlsd/common/error.hpp"

namespace mlsd::retrieval::detail {
namespace {

constexpr const char* kLoad = "Index.load";

template <class... Parts>
[[noreturn]] void bad(const Parts&... parts) {
  mlsd::detail::throw_invalid(kLoad, "the stored FAISS index is corrupted or inconsistent: ", parts...);
}

class Blob {
 public:
  explicit Blob(std::span<const std::uint8_t> b) : b_(b) {}
  std::size_t remaining() const { return b_.size() - pos_; }

  template <class T>
  T get(const char* what) {
    if (sizeof(T) > remaining()) bad("it ends inside ", what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  bool flag(const char* what) {
    const auto v = get<std::uint8_t>(what);
    if (v > 1) bad(what, " is ", static_cast<int>(v), ", not a bool");
    return v == 1;
  }
  void fourcc(const char* expected, const char* what) {
    if (4 > remaining() || std::memcmp(b_.data() + pos_, expected, 4) != 0) bad(what, " is not '", expected, "'");
    pos_ += 4;
  }
  bool try_fourcc(const char* expected) {
    if (4 > remaining() || std::memcmp(b_.data() + pos_, expected, 4) != 0) return false;
    pos_ += 4;
    return true;
  }
  // count items of `size` bytes, checked against what is left before anything is multiplied.
  std::span<const std::uint8_t> items(std::uint64_t count, std::size_t size, const char* what) {
    if (count > remaining() / size) bad(what, " holds ", count, " items, more than the bytes left");
    auto s = b_.subspan(pos_, static_cast<std::size_t>(count) * size);
    pos_ += s.size();
    return s;
  }
  // A std::vector<T> whose count must equal `expected`.
  std::span<const std::uint8_t> vec(std::uint64_t expected, std::size_t size, const char* what) {
    const auto count = get<std::uint64_t>(what);
    if (count != expected) bad(what, " has ", count, " items, expected ", expected);
    return items(count, size, what);
  }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

template <class T>
T at(std::span<const std::uint8_t> bytes, std::size_t i) {
  T v;
  std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
  return v;
}

void check_finite(std::span<const std::uint8_t> floats, const char* what) {
  for (std::size_t i = 0; i < floats.size() / sizeof(float); ++i) {
    if (!std::isfinite(at<float>(floats, i))) bad(what, " holds a non-finite value");
  }
}

struct Checker {
  const StoredIndex& e;
  Blob b;

  int metric() const { return e.l2 ? 1 : 0; }

  // The header every index starts with; returns is_trained.
  bool header(index_t d, index_t ntotal, const char* what) {
    const auto hd = b.get<std::int32_t>(what);
    if (hd != d) bad(what, " has dimension ", hd, ", expected ", d);
    const auto n = b.get<std::int64_t>(what);
    if (n != ntotal) bad(what, " holds ", n, " vectors, expected ", ntotal);
    b.get<std::int64_t>(what);  // two unused words
    b.get<std::int64_t>(what);
    const bool trained = b.flag("is_trained");
    const auto m = b.get<std::int32_t>(what);
    if (m != metric()) bad(what, " has metric code ", m, ", expected ", metric());
    if (ntotal > 0 && !trained) bad(what, " holds vectors but is not trained");
    return trained;
  }

  void flat(index_t d, index_t ntotal, const char* what) {
    b.fourcc(e.l2 ? "IxF2" : "IxFI", what);
    header(d, ntotal, what);
    check_finite(b.vec(static_cast<std::uint64_t>(ntotal * d), sizeof(float), what), what);
  }

  // Returns the code size.
  std::uint64_t product_quantizer(index_t d) {
    const auto pd = b.get<std::uint64_t>("PQ d");
    const auto m = b.get<std::uint64_t>("PQ M");
    const auto nbits = b.get<std::uint64_t>("PQ nbits");
    if (pd != static_cast<std::uint64_t>(d) || m != static_cast<std::uint64_t>(e.spec.pq_m) ||
        nbits != static_cast<std::uint64_t>(e.spec.pq_nbits)) {
      bad("product quantizer (d, M, nbits) = (", pd, ", ", m, ", ", nbits, "), expected (", d, ", ", e.spec.pq_m,
          ", ", e.spec.pq_nbits, ") from the spec");
    }
    check_finite(b.vec(static_cast<std::uint64_t>(d) << nbits, sizeof(float), "PQ centroids"), "PQ centroids");
    return (m * nbits + 7) / 8;
  }

  bool pq(index_t d) {
    b.fourcc("IxPq", "PQ index");
    const bool trained = header(d, e.n_live, "PQ index");
    const auto code_size = product_quantizer(d);
    b.vec(static_cast<std::uint64_t>(e.n_live) * code_size, 1, "PQ codes");
    if (const auto t = b.get<std::int32_t>("PQ search type"); t != 0) bad("PQ search type is ", t, ", not 0");
    b.flag("PQ encode_signs");
    b.get<std::int32_t>("PQ polysemous_ht");
    return trained;
  }

  bool ivf(index_t d) {
    const bool is_pq = e.spec.kind == Spec::Kind::ivf_pq;
    b.fourcc(is_pq ? "IwPQ" : "IwFl", "IVF index");
    const bool trained = header(d, e.n_live, "IVF index");
    const auto nlist = static_cast<std::uint64_t>(e.spec.nlist);
    if (const auto v = b.get<std::uint64_t>("nlist"); v != nlist) bad("nlist is ", v, ", the spec says ", nlist);
    if (const auto v = b.get<std::uint64_t>("nprobe"); v < 1 || v > nlist) bad("nprobe is ", v, ", not in [1, nlist]");
    flat(d, trained ? e.spec.nlist : 0, "IVF quantizer");
    // Direct map: mlsd always uses a hash table of position -> (list << 32 | offset).
    if (const auto t = b.get<std::int8_t>("direct map type"); t != 2) bad("direct map type is ", int{t}, ", not 2");
    b.vec(0, sizeof(std::int64_t), "direct map array");
    const auto map = b.vec(static_cast<std::uint64_t>(e.n_live), 2 * sizeof(std::int64_t), "direct map");
    std::uint64_t code_size = static_cast<std::uint64_t>(d) * sizeof(float);
    if (is_pq) {
      b.flag("by_residual");
      const auto cs = b.get<std::uint64_t>("IVF-PQ code size");
      code_size = product_quantizer(d);
      if (cs != code_size) bad("IVF-PQ code size is ", cs, ", its quantizer's is ", code_size);
    }
    // Inverted lists.
    b.fourcc("ilar", "inverted lists");
    if (const auto v = b.get<std::uint64_t>("inverted lists nlist"); v != nlist) bad("inverted lists count ", v, " lists");
    if (const auto v = b.get<std::uint64_t>("inverted lists code size"); v != code_size) {
      bad("inverted lists code size is ", v, ", expected ", code_size);
    }
    std::vector<std::uint64_t> sizes(static_cast<std::size_t>(nlist), 0);
    if (b.try_fourcc("full")) {
      const auto s = b.vec(nlist, sizeof(std::uint64_t), "list sizes");
      for (std::size_t i = 0; i < sizes.size(); ++i) sizes[i] = at<std::uint64_t>(s, i);
    } else if (b.try_fourcc("sprs")) {
      const auto count = b.get<std::uint64_t>("list sizes");
      if (count % 2 != 0 || count / 2 > nlist) bad("sparse list sizes have ", count, " entries");
      const auto s = b.items(count, sizeof(std::uint64_t), "list sizes");
      std::uint64_t previous = 0;
      for (std::size_t i = 0; i < count / 2; ++i) {
        const auto list = at<std::uint64_t>(s, 2 * i);
        if (list >= nlist || (i > 0 && list <= previous)) bad("list number ", list, " is out of order or range");
        sizes[static_cast<std::size_t>(list)] = at<std::uint64_t>(s, 2 * i + 1);
        previous = list;
      }
    } else {
      bad("inverted lists have an unknown layout");
    }
    std::uint64_t total = 0;
    for (auto n : sizes) {
      if (n > static_cast<std::uint64_t>(e.n_live) - total) bad("inverted lists hold more than ntotal = ", e.n_live, " items");
      total += n;
    }
    if (total != static_cast<std::uint64_t>(e.n_live)) bad("inverted lists hold ", total, " items, ntotal is ", e.n_live);
    // Every live position exactly once; remember where, for the direct map.
    const auto n_pos = static_cast<index_t>(e.positions.size());
    std::vector<std::int64_t> where(e.positions.size(), -1);
    for (std::size_t list = 0; list < sizes.size(); ++list) {
      const auto codes = b.items(sizes[list], static_cast<std::size_t>(code_size), "list codes");
      if (!is_pq) check_finite(codes, "list vectors");
      const auto ids = b.items(sizes[list], sizeof(std::int64_t), "list ids");
      for (std::size_t j = 0; j < sizes[list]; ++j) {
        const auto id = at<std::int64_t>(ids, j);
        if (id < 0 || id >= n_pos || e.positions[static_cast<std::size_t>(id)] == -1) {
          bad("list ", list, " holds id ", id, ", not a live position");
        }
        if (where[static_cast<std::size_t>(id)] != -1) bad("position ", id, " is in the lists twice");
        where[static_cast<std::size_t>(id)] = static_cast<std::int64_t>((list << 32) | j);
      }
    }
    // n_live entries, each for a position in the lists and none twice: then every live position
    // has exactly one (FAISS keeps the last entry for a key, so a repeated key could map a
    // position to any value, and a removed position's "-1" must not stand in for a live one).
    std::vector<bool> mapped(e.positions.size(), false);
    for (std::size_t i = 0; i < static_cast<std::size_t>(e.n_live); ++i) {
      const auto id = at<std::int64_t>(map, 2 * i);
      const auto lo = at<std::int64_t>(map, 2 * i + 1);
      if (id < 0 || id >= n_pos || where[static_cast<std::size_t>(id)] < 0 ||
          where[static_cast<std::size_t>(id)] != lo || mapped[static_cast<std::size_t>(id)]) {
        bad("direct map entry ", i, " (", id, " -> ", lo, ") does not match the lists");
      }
      mapped[static_cast<std::size_t>(id)] = true;
    }
    return trained;
  }

  bool hnsw(index_t d) {
    b.fourcc("IHNf", "HNSW index");
    const bool trained = header(d, e.n_live, "HNSW index");
    const auto n = static_cast<std::uint64_t>(e.n_live);
    const auto n_levels = b.get<std::uint64_t>("HNSW level probabilities");
    if (n_levels < 1 || n_levels > 64) bad("HNSW has ", n_levels, " levels");
    const auto probas = b.items(n_levels, sizeof(double), "HNSW level probabilities");
    for (std::size_t i = 0; i < n_levels; ++i) {
      const double p = at<double>(probas, i);
      if (!(p >= 0.0 && p <= 1.0)) bad("HNSW level probability ", p);
    }
    const auto cum = b.vec(n_levels + 1, sizeof(std::int32_t), "HNSW neighbours per level");
    const auto m = static_cast<std::int32_t>(e.spec.hnsw_m);
    for (std::size_t l = 0; l <= n_levels; ++l) {
      const auto expected = l == 0 ? 0 : 2 * m + static_cast<std::int32_t>(l - 1) * m;
      if (at<std::int32_t>(cum, l) != expected) bad("HNSW neighbours per level do not match M = ", m);
    }
    const auto levels = b.vec(n, sizeof(std::int32_t), "HNSW levels");
    const auto offsets = b.vec(n + 1, sizeof(std::uint64_t), "HNSW offsets");
    std::uint64_t total = 0;
    if (at<std::uint64_t>(offsets, 0) != 0) bad("HNSW offsets do not start at 0");
    for (std::size_t i = 0; i < n; ++i) {
      const auto level = at<std::int32_t>(levels, i);
      if (level < 1 || static_cast<std::uint64_t>(level) > n_levels) bad("HNSW node ", i, " has level ", level);
      total += static_cast<std::uint64_t>(at<std::int32_t>(cum, static_cast<std::size_t>(level)));
      if (at<std::uint64_t>(offsets, i + 1) != total) bad("HNSW offsets do not match the levels");
    }
    const auto neighbors = b.vec(total, sizeof(std::int32_t), "HNSW neighbours");
    for (std::size_t i = 0; i < total; ++i) {
      const auto nb = at<std::int32_t>(neighbors, i);
      if (nb < -1 || nb >= static_cast<std::int64_t>(n)) bad("HNSW neighbour ", nb, " is not a node");
    }
    const auto entry = b.get<std::int32_t>("HNSW entry point");
    const auto max_level = b.get<std::int32_t>("HNSW max level");
    if (n == 0 ? (entry != -1 || max_level != -1)
               : (entry < 0 || static_cast<std::uint64_t>(entry) >= n ||
                  max_level + 1 != at<std::int32_t>(levels, static_cast<std::size_t>(entry)))) {
      bad("HNSW entry point ", entry, " or max level ", max_level, " is invalid");
    }
    for (const char* what : {"HNSW efConstruction", "HNSW efSearch", "HNSW upper_beam"}) {
      const auto v = b.get<std::int32_t>(what);
      if (v < 1 || v > (1 << 16)) bad(what, " is ", v);
    }
    flat(d, e.n_live, "HNSW storage");
    return trained;
  }

  void index() {
    // Only IVF indexes remove items (FAISS ids are positions, found through the direct map); in
    // the others every position up to ntotal must be live.
    const bool ivf_kind = e.spec.kind == Spec::Kind::ivf_flat || e.spec.kind == Spec::Kind::ivf_pq;
    if (!ivf_kind && static_cast<index_t>(e.positions.size()) != e.n_live) bad("removed positions in a ", "non-IVF index");
    index_t d = e.dim;
    bool outer_trained = true;
    if (e.spec.opq_m > 0) {
      b.fourcc("IxPT", "transform index");
      const bool trained = header(d, e.n_live, "transform index");
      outer_trained = trained;
      if (const auto c = b.get<std::int32_t>("transform count"); c != 1) bad("transform count is ", c);
      b.fourcc("LTra", "OPQ transform");
      const bool bias = b.flag("OPQ have_bias");
      const auto a_count = b.get<std::uint64_t>("OPQ matrix");
      const auto full = static_cast<std::uint64_t>(e.dim * e.spec.opq_d);
      if (a_count != full && !(a_count == 0 && !trained)) bad("OPQ matrix has ", a_count, " entries");
      check_finite(b.items(a_count, sizeof(float), "OPQ matrix"), "OPQ matrix");
      const auto b_count = b.get<std::uint64_t>("OPQ bias");
      if (b_count != (bias ? static_cast<std::uint64_t>(e.spec.opq_d) : 0)) bad("OPQ bias has ", b_count, " entries");
      check_finite(b.items(b_count, sizeof(float), "OPQ bias"), "OPQ bias");
      const auto d_in = b.get<std::int32_t>("OPQ d_in");
      const auto d_out = b.get<std::int32_t>("OPQ d_out");
      if (d_in != e.dim || d_out != e.spec.opq_d) bad("OPQ maps ", d_in, " to ", d_out, " dimensions");
      const bool lt_trained = b.flag("OPQ is_trained");
      if (lt_trained != (a_count == full) || (trained && !lt_trained)) bad("OPQ training state is inconsistent");
      d = e.spec.opq_d;
    }
    bool trained = false;
    switch (e.spec.kind) {
      case Spec::Kind::hnsw: trained = hnsw(d); break;
      case Spec::Kind::ivf_flat:
      case Spec::Kind::ivf_pq: trained = ivf(d); break;
      case Spec::Kind::pq: trained = pq(d); break;
      default: bad("spec kind has no FAISS index");
    }
    if (e.spec.opq_m > 0 && trained != outer_trained) bad("the OPQ wrapper and its index disagree on training");
    if (b.remaining() != 0) bad(b.remaining(), " unexpected bytes at its end");
  }
};

}  // namespace

void check_faiss_blob(std::span<const std::uint8_t> blob, const StoredIndex& expected) {
  Checker{expected, Blob(blob)}.index();
}

}  // namespace mlsd::retrieval::detail
