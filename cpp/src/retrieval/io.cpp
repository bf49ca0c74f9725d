// The index file format (all integers little-endian):
//
//   magic      8 bytes  "MLSDIDX\0"
//   version    u32      kFileVersion
//   metric     u32      0 ip, 1 l2, 2 cosine
//   dim        i64
//   spec       u32 length + bytes
//   next_id    i64
//   n_pos      i64      positions, then n_pos i64 external ids (-1: removed)
//   storage    u8       0: mlsd Flat, followed by n_pos * dim float32 (as added; version 1
//                       stored l2 vectors minus the centre), then for l2 the dim float32 centre
//                       1: FAISS, followed by u64 length + faiss::write_index bytes
//   crc32      u32      CRC-32 (zlib's) of every byte before it
//
// A file is checked (size, magic, version, checksum) before any of it is parsed, and every read is
// bounds-checked, so a truncated, corrupted or foreign file raises instead of crashing.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include "exact_rows.hpp"
#include "faiss_check.hpp"
#include "index_impl.hpp"
#include "index_lock.hpp"
#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"

namespace mlsd::retrieval {
namespace {

static_assert(std::endian::native == std::endian::little, "the index file format is little-endian");

constexpr const char* kLoad = "Index.load";

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int j = 0; j < 8; ++j) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    bytes(&v, sizeof(T));
  }
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  std::vector<std::uint8_t> out;
};

// memcpy of a whole array read from the file; an empty array is no copy at all (its destination
// may be a null pointer, which memcpy must never be given, even for zero bytes).
void copy_bytes(void* dst, std::span<const std::uint8_t> src) {
  if (!src.empty()) std::memcpy(dst, src.data(), src.size());
}

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what).data(), sizeof(T));
    return v;
  }
  std::span<const std::uint8_t> take(std::size_t n, const char* what) {
    MLSD_REQUIRE(n <= in_.size() - pos_, kLoad, "file is truncated or corrupted (reading ", what, ")");
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // Reads n items of size `size` after checking n * size against what is left.
  std::span<const std::uint8_t> take_array(std::int64_t n, std::size_t size, const char* what) {
    MLSD_REQUIRE(n >= 0 && static_cast<std::uint64_t>(n) <= (in_.size() - pos_) / size, kLoad,
                 "file is truncated or corrupted (bad length of ", what, ")");
    return take(static_cast<std::size_t>(n) * size, what);
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// FAISS reads the index blob straight from the file buffer (no copy).
struct SpanIOReader : faiss::IOReader {
  explicit SpanIOReader(std::span<const std::uint8_t> s) : data(s) {}
  std::size_t operator()(void* ptr, std::size_t size, std::size_t nitems) override {
    if (size == 0) return nitems;
    const std::size_t n = std::min(nitems, (data.size() - pos) / size);
    if (n != 0) std::memcpy(ptr, data.data() + pos, n * size);  // ptr may be null when n == 0
    pos += n * size;
    return n;
  }
  std::span<const std::uint8_t> data;
  std::size_t pos = 0;
};

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
  crc = ~crc;
  for (std::uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::vector<std::uint8_t> Index::serialize() const {
  detail::IndexLock lock(impl_->mutex, detail::IndexLock::shared, "Index.save");
  const Impl& s = *impl_;
  Writer w;
  w.bytes(kFileMagic, sizeof(kFileMagic));
  w.put(kFileVersion);
  w.put(static_cast<std::uint32_t>(s.metric));
  w.put(static_cast<std::int64_t>(s.dim));
  w.put(static_cast<std::uint32_t>(s.spec.size()));
  w.bytes(s.spec.data(), s.spec.size());
  w.put(static_cast<std::int64_t>(s.next_id));
  w.put(static_cast<std::int64_t>(s.pos2id.size()));
  w.bytes(s.pos2id.data(), s.pos2id.size() * sizeof(index_t));
  w.put(static_cast<std::uint8_t>(s.own_flat ? 0 : 1));
  if (s.own_flat) {
    w.bytes(s.vectors.data(), s.vectors.size() * sizeof(float));
    if (s.metric == Metric::l2) {
      std::vector<float> center = s.center;
      center.resize(static_cast<std::size_t>(s.dim), 0.0f);  // no vectors yet: no centre
      w.bytes(center.data(), center.size() * sizeof(float));
    }
  } else {
    faiss::VectorIOWriter fw;
    try {
      faiss::write_index(s.faiss.get(), &fw);
    } catch (const faiss::FaissException& e) {
      mlsd::detail::throw_invalid("Index.save", "FAISS cannot serialise spec ", detail::quote_spec(s.spec), ": ", e.msg);
    }
    w.put(static_cast<std::uint64_t>(fw.data.size()));
    w.bytes(fw.data.data(), fw.data.size());
  }
  w.put(crc32(w.out));
  return std::move(w.out);
}

Index Index::deserialize(std::span<const std::uint8_t> bytes) {
  MLSD_REQUIRE(bytes.size() >= sizeof(kFileMagic) && std::memcmp(bytes.data(), kFileMagic, sizeof(kFileMagic)) == 0,
               kLoad, "not an mlsd index file (bad magic number)");
  Reader r(bytes);
  r.take(sizeof(kFileMagic), "magic");
  const auto version = r.get<std::uint32_t>("version");
  MLSD_REQUIRE(version == kFileVersion || version == 1, kLoad, "unsupported index file format version ", version,
               " (this mlsd reads versions 1 to ", kFileVersion, ")");
  MLSD_REQUIRE(bytes.size() >= sizeof(kFileMagic) + 2 * sizeof(std::uint32_t), kLoad, "file is truncated");
  const std::size_t body = bytes.size() - sizeof(std::uint32_t);
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + body, sizeof(stored_crc));
  MLSD_REQUIRE(crc32(bytes.first(body)) == stored_crc, kLoad,
               "checksum mismatch: the file is truncated or corrupted");
  Reader br(bytes.first(body));
  br.take(sizeof(kFileMagic) + sizeof(std::uint32_t), "header");

  auto impl = std::make_unique<Impl>();
  const auto metric = br.get<std::uint32_t>("metric");
  MLSD_REQUIRE(metric <= 2, kLoad, "unknown metric code ", metric);
  impl->metric = static_cast<Metric>(metric);
  impl->dim = br.get<std::int64_t>("dim");
  MLSD_REQUIRE(impl->dim >= 1 && impl->dim <= (1 << 20), kLoad, "invalid dimension ", impl->dim);
  const auto spec_len = br.get<std::uint32_t>("spec length");
  auto spec = br.take_array(spec_len, 1, "spec");
  impl->spec.assign(reinterpret_cast<const char*>(spec.data()), spec.size());
  // The stored spec passes the checks a new index's does: FAISS never sees another.
  impl->parsed = detail::parse_spec(impl->spec, impl->dim, kLoad);
  impl->next_id = br.get<std::int64_t>("next_id");
  const auto n_pos = br.get<std::int64_t>("n_pos");
  auto pos = br.take_array(n_pos, sizeof(index_t), "ids");
  impl->pos2id.resize(static_cast<std::size_t>(n_pos));
  copy_bytes(impl->pos2id.data(), pos);
  for (index_t id : impl->pos2id) impl->n_live += id != -1 ? 1 : 0;
  impl->rebuild_id_map();
  MLSD_REQUIRE(static_cast<index_t>(impl->id2pos.size()) == impl->n_live, kLoad, "file holds duplicate ids");

  const auto storage = br.get<std::uint8_t>("storage");
  MLSD_REQUIRE(storage <= 1, kLoad, "unknown storage code ", static_cast<int>(storage));
  impl->own_flat = storage == 0;
  MLSD_REQUIRE(impl->own_flat == (impl->parsed.kind == detail::Spec::Kind::flat), kLoad,
               "storage does not match spec ", detail::quote_spec(impl->spec));
  if (impl->own_flat) {
    MLSD_REQUIRE(impl->n_live == n_pos, kLoad, "Flat storage with removed positions");
    auto v = br.take_array(n_pos * impl->dim, sizeof(float), "vectors");
    impl->vectors.resize(static_cast<std::size_t>(n_pos * impl->dim));
    copy_bytes(impl->vectors.data(), v);
    MLSD_REQUIRE(std::all_of(impl->vectors.begin(), impl->vectors.end(), [](float x) { return std::isfinite(x); }),
                 kLoad, "file holds non-finite vectors");
    if (impl->metric == Metric::l2) {
      auto c = br.take_array(impl->dim, sizeof(float), "centre");
      std::vector<float> center(static_cast<std::size_t>(impl->dim));
      copy_bytes(center.data(), c);
      MLSD_REQUIRE(std::all_of(center.begin(), center.end(), [](float x) { return std::isfinite(x); }), kLoad,
                   "file holds a non-finite centre");
      // An empty index has a centre when it was given one at construction (a shard of a
      // collection) or kept it after removing every item; zeros are what save writes for none.
      if (n_pos > 0 || std::any_of(center.begin(), center.end(), [](float v) { return v != 0.0f; })) {
        impl->center = std::move(center);
      }
      if (version == 1 && !impl->center.empty()) {  // version 1 stored l2 vectors minus the centre
        for (std::size_t i = 0; i < impl->vectors.size(); ++i) {
          impl->vectors[i] += impl->center[i % impl->center.size()];
        }
        MLSD_REQUIRE(std::all_of(impl->vectors.begin(), impl->vectors.end(), [](float x) { return std::isfinite(x); }),
                     kLoad, "file holds vectors beyond float32's range");
      }
      impl->sqnorms = run_in_arena([&] { return detail::centred_sqnorms(impl->vectors, impl->dim, impl->center); });
    }
  } else {
    const auto blob_len = br.get<std::uint64_t>("FAISS blob length");
    MLSD_REQUIRE(blob_len <= br.remaining(), kLoad, "file is truncated or corrupted (FAISS blob)");
    const auto blob = br.take(static_cast<std::size_t>(blob_len), "FAISS blob");
    // HNSW over cosine is stored as L2 over unit vectors (see make_faiss_index).
    impl->cosine_as_l2 = impl->metric == Metric::cosine && impl->parsed.kind == detail::Spec::Kind::hnsw;
    detail::check_faiss_blob(blob, {impl->parsed, impl->dim, impl->faiss_metric() == faiss::METRIC_L2,
                                    impl->pos2id, impl->n_live});
    SpanIOReader fr(blob);
    try {
      impl->faiss.reset(faiss::read_index(&fr));
    } catch (const faiss::FaissException& e) {
      mlsd::detail::throw_invalid(kLoad, "FAISS could not read the stored index: ", e.msg);
    } catch (const mlsd::invalid_argument& e) {
      mlsd::detail::throw_invalid(kLoad, e.message());
    } catch (const std::exception& e) {  // e.g. std::bad_alloc
      mlsd::detail::throw_invalid(kLoad, "FAISS could not read the stored index: ", e.what());
    }
    MLSD_REQUIRE(impl->faiss->d == impl->dim && impl->faiss->ntotal == impl->n_live &&
                     impl->faiss->metric_type == impl->faiss_metric(),
                 kLoad, "stored FAISS index does not match the file header");
    impl->validate_faiss(kLoad);
  }
  MLSD_REQUIRE(br.remaining() == 0, kLoad, "unexpected trailing bytes in the file");
  return Index(std::move(impl));
}

}  // namespace mlsd::retrieval
