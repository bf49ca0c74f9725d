#include "spec.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "mlsd/common/error.hpp"

namespace mlsd::retrieval::detail {
namespace {

// Longer specs are never valid (the longest in the grammar is about 40 characters); the bound
// keeps a pasted blob from reaching FAISS's regex parser.
constexpr std::size_t kMaxSpecLength = 128;
constexpr std::size_t kQuoteLength = 40;

const char* const kGrammar =
    "mlsd supports Flat, HNSW<M>[,Flat], IVF<nlist>,Flat, [OPQ<m>[_<D>],]IVF<nlist>,PQ<M>[x<nbits>] "
    "and [OPQ<m>[_<D>],]PQ<M>[x<nbits>]";

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    parts.push_back(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return parts;
    start = comma + 1;
  }
}

// A parser over one comma-separated part.
class Part {
 public:
  Part(std::string_view text, const std::string& spec, const char* function)
      : text_(text), spec_(spec), function_(function) {}

  bool eat(std::string_view prefix) {
    if (text_.substr(pos_, prefix.size()) != prefix) return false;
    pos_ += prefix.size();
    return true;
  }
  bool done() const { return pos_ == text_.size(); }

  // Digits, if any, as a number checked against [lo, hi]; "parameter" names it in the message.
  std::optional<index_t> number(const char* parameter, index_t lo, index_t hi) {
    std::size_t end = pos_;
    while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
    if (end == pos_) return std::nullopt;
    index_t v = 0;
    bool too_big = false;
    for (std::size_t i = pos_; i < end; ++i) {
      if (v > hi) too_big = true;
      else v = v * 10 + (text_[i] - '0');
    }
    pos_ = end;
    if (too_big || v < lo || v > hi) {
      mlsd::detail::throw_invalid(function_, "spec ", quote_spec(spec_), ": ", parameter, " must be in [", lo, ", ",
                                  hi, "], got ", too_big ? std::string("a larger number") : std::to_string(v));
    }
    return v;
  }
  index_t required(const char* parameter, index_t lo, index_t hi) {
    const auto v = number(parameter, lo, hi);
    if (!v) mlsd::detail::throw_invalid(function_, "spec ", quote_spec(spec_), ": ", parameter, " is missing");
    return *v;
  }
  [[noreturn]] void unsupported() const {
    mlsd::detail::throw_invalid(function_, "spec ", quote_spec(spec_), ": '", text_,
                                "' is not an index kind mlsd supports (", kGrammar, ")");
  }
  void end() const {
    if (!done()) unsupported();
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  const std::string& spec_;
  const char* function_;
};

}  // namespace

index_t Spec::min_training_vectors() const {
  index_t n = 1;
  if (kind == Kind::ivf_flat || kind == Kind::ivf_pq) n = std::max(n, nlist);
  if (kind == Kind::ivf_pq || kind == Kind::pq) n = std::max(n, index_t{1} << pq_nbits);
  if (opq_m > 0) n = std::max(n, index_t{256});  // OPQ trains an 8-bit PQ internally
  return n;
}

std::string quote_spec(const std::string& spec) {
  if (spec.size() <= kQuoteLength) return "'" + spec + "'";
  return "'" + spec.substr(0, kQuoteLength) + "...' (" + std::to_string(spec.size()) + " characters)";
}

Spec parse_spec(const std::string& spec, index_t dim, const char* function) {
  MLSD_REQUIRE(spec.size() <= kMaxSpecLength, function, "spec ", quote_spec(spec), " is too long: at most ",
               kMaxSpecLength, " characters (", kGrammar, ")");
  MLSD_REQUIRE(spec.find("IDMap") == std::string::npos, function, "spec ", quote_spec(spec),
               " must not contain IDMap: mlsd maps ids itself (pass ids to add())");
  const auto parts = split(spec);
  std::size_t i = 0;
  Spec s;
  auto part = [&](std::size_t j) { return Part(j < parts.size() ? parts[j] : std::string_view(), spec, function); };
  const auto check_count = [&](std::size_t n) {
    if (parts.size() != n) {
      Part(parts.size() > n ? parts[n] : parts.back(), spec, function).unsupported();
    }
  };

  index_t pq_dim = dim;
  if (Part p = part(0); p.eat("OPQ")) {
    s.opq_m = p.required("OPQ's number of sub-quantizers m", 1, dim);
    s.opq_d = dim;
    if (p.eat("_")) s.opq_d = p.required("OPQ's output dimension D", 1, dim);
    p.end();
    MLSD_REQUIRE(s.opq_d % s.opq_m == 0, function, "spec ", quote_spec(spec), ": OPQ's m = ", s.opq_m,
                 " must divide its output dimension ", s.opq_d);
    pq_dim = s.opq_d;
    i = 1;
    const bool pq_next = parts.size() > 1 && (parts[1].starts_with("PQ") || parts[1].starts_with("IVF"));
    MLSD_REQUIRE(pq_next, function, "spec ", quote_spec(spec), ": OPQ applies before PQ codes only (", kGrammar, ")");
  }
  const auto parse_pq = [&](Part& p, index_t max_nbits) {
    s.pq_m = p.required("PQ's number of sub-quantizers M", 1, pq_dim);
    s.pq_nbits = 8;
    if (p.eat("x")) s.pq_nbits = p.required("PQ's bits per code nbits", 1, max_nbits);
    p.eat("np");
    p.end();
    MLSD_REQUIRE(pq_dim % s.pq_m == 0, function, "spec ", quote_spec(spec), ": PQ's M = ", s.pq_m,
                 " must divide the dimension ", pq_dim, " of the vectors it encodes");
  };

  Part p = part(i);
  if (p.eat("Flat")) {
    p.end();
    check_count(i + 1);
    s.kind = Spec::Kind::flat;
  } else if (p.eat("HNSW")) {
    s.kind = Spec::Kind::hnsw;
    s.hnsw_m = p.number("HNSW's number of neighbours M", 2, 512).value_or(32);
    p.end();
    if (parts.size() > i + 1) {
      Part storage = part(i + 1);
      if (!storage.eat("Flat")) storage.unsupported();
      storage.end();
    }
    check_count(std::min<std::size_t>(parts.size(), i + 2));
  } else if (p.eat("IVF")) {
    s.nlist = p.required("IVF's number of lists nlist", 1, index_t{1} << 20);
    p.end();
    MLSD_REQUIRE(parts.size() >= i + 2, function, "spec ", quote_spec(spec),
                 ": IVF<nlist> must be followed by ,Flat or ,PQ<M>[x<nbits>]");
    Part codes = part(i + 1);
    if (codes.eat("Flat")) {
      codes.end();
      s.kind = Spec::Kind::ivf_flat;
    } else if (codes.eat("PQ")) {
      parse_pq(codes, 8);
      s.kind = Spec::Kind::ivf_pq;
    } else {
      codes.unsupported();
    }
    check_count(i + 2);
  } else if (p.eat("PQ")) {
    parse_pq(p, 16);
    s.kind = Spec::Kind::pq;
    check_count(i + 1);
  } else {
    p.unsupported();
  }
  MLSD_REQUIRE(s.opq_m == 0 || s.kind == Spec::Kind::pq || s.kind == Spec::Kind::ivf_pq, function, "spec ",
               quote_spec(spec), ": OPQ applies before PQ codes only (", kGrammar, ")");
  return s;
}

float faiss_max_abs(index_t dim) {
  // Squared distances reach 4 * dim * bound^2; keep them at most FLT_MAX / 2.
  return static_cast<float>(std::sqrt(static_cast<double>(FLT_MAX) / (8.0 * static_cast<double>(dim))));
}

}  // namespace mlsd::retrieval::detail

namespace mlsd::retrieval::detail {

void check_faiss_magnitude(std::span<const float> x, index_t dim, const char* function, const char* argument) {
  const float bound = faiss_max_abs(dim);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::fabs(x[i]) <= bound) continue;
    mlsd::detail::throw_invalid(function, argument, " has a value of magnitude ", std::fabs(x[i]), " at row ",
                                static_cast<index_t>(i) / dim, ", column ", static_cast<index_t>(i) % dim,
                                ": FAISS-backed indexes take values up to ", bound,
                                " in dimension ", dim, " (squared distances must stay finite in float32); "
                                "rescale the vectors or use spec 'Flat'");
  }
}

}  // namespace mlsd::retrieval::detail
