#include <charconv>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <tbb/parallel_reduce.h>

#include "mlsd/common/error.hpp"
#include "mlsd/common/parallel.hpp"
#include "mlsd/detail/canonical_rows.hpp"
#include "mlsd/detail/murmurhash3_stream.hpp"
#include "mlsd/hashing.hpp"

namespace mlsd::hashing {
namespace {

using detail::MurmurStream;

constexpr char kCrossSeparator = '\x1f';

bool present(const Column& c, std::int64_t r) {
  if (!c.valid.empty() && !c.valid[r]) return false;
  return c.kind != Column::Kind::dictionary || c.ints[r] >= 0;
}

std::string_view string_at(const StringsView& s, std::int64_t i) { return s[static_cast<std::size_t>(i)]; }

// Feeds the text of row r's value (the "<text>" of "<name>=<text>") to the hash.
void feed_value(const Column& c, std::int64_t r, MurmurStream& h) {
  std::string_view text;
  char buf[24];
  switch (c.kind) {
    case Column::Kind::strings: text = string_at(c.strings, r); break;
    case Column::Kind::dictionary: text = string_at(c.strings, c.ints[r]); break;
    case Column::Kind::ints: text = {buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, c.ints[r]).ptr - buf)}; break;
  }
  h.update(text.data(), text.size());
}

// One output entry per row: a column on its own, or a cross.  Every key starts with the first
// part's "<name>=", so the hash state after it is computed once; later parts are preceded by the
// constant "\x1f<name>=".
struct Source {
  std::vector<const Column*> parts;
  MurmurStream start{0};
  std::vector<std::string> joins;  // joins[j] precedes part j (j >= 1)
  std::vector<std::uint32_t> table;  // a dictionary column alone: the entry code of each dictionary value

  Source(std::vector<const Column*> cols, std::uint32_t seed) : parts(std::move(cols)), start(seed) {
    start.update(parts[0]->name.data(), parts[0]->name.size());
    start.update('=');
    for (std::size_t j = 0; j < parts.size(); ++j)
      joins.push_back(j == 0 ? std::string() : kCrossSeparator + parts[j]->name + '=');
  }

  bool always_present() const {
    for (const auto* c : parts)
      if (!c->valid.empty() || c->kind == Column::Kind::dictionary) return false;
    return true;
  }

  bool present(std::int64_t r) const {
    for (const auto* c : parts)
      if (!mlsd::hashing::present(*c, r)) return false;
    return true;
  }

  std::uint32_t hash(std::int64_t r) const {
    MurmurStream h = start;
    feed_value(*parts[0], r, h);
    for (std::size_t j = 1; j < parts.size(); ++j) {
      h.update(joins[j].data(), joins[j].size());
      feed_value(*parts[j], r, h);
    }
    return h.finish();
  }
};

}  // namespace

void Column::check_kind(Kind kind, const char* fn) {
  MLSD_REQUIRE(kind == Kind::strings || kind == Kind::ints || kind == Kind::dictionary, fn, "unknown column kind ",
               static_cast<int>(kind), " (expected strings, ints or dictionary)");
}

HashedEntries hash_columns(std::span<const Column> columns, std::size_t n_single,
                           std::span<const std::vector<std::size_t>> crosses, std::int64_t n_rows,
                           std::int64_t n_features, std::uint32_t seed, bool alternate_sign) {
  const char* fn = "hash_columns";
  MLSD_REQUIRE(n_single <= columns.size(), fn, "n_single (", n_single, ") exceeds the ", columns.size(), " columns");
  check_n_features(n_features, fn);
  MLSD_REQUIRE(n_rows >= 0, fn, "n_rows must be >= 0");
  for (const auto& c : columns) {
    Column::check_kind(c.kind, fn);
    check_strings(c.strings, fn, c.name.c_str());
    const auto n = static_cast<std::size_t>(n_rows);
    const bool ok = c.kind == Column::Kind::strings ? c.strings.size() == n : c.ints.size() == n;
    MLSD_REQUIRE(ok && (c.valid.empty() || c.valid.size() == n), fn, "column '", c.name, "' does not have ", n_rows,
                 " rows");
    if (c.kind == Column::Kind::dictionary) {
      const auto size = static_cast<std::int64_t>(c.strings.size());
      for (auto code : c.ints)
        MLSD_REQUIRE(code < size, fn, "column '", c.name, "' has code ", code, " outside its dictionary of ", size);
    }
  }
  std::vector<Source> sources;
  for (std::size_t i = 0; i < n_single; ++i) sources.emplace_back(std::vector<const Column*>{&columns[i]}, seed);
  for (const auto& cross : crosses) {
    MLSD_REQUIRE(cross.size() >= 2, fn, "a cross needs at least two columns");
    std::vector<const Column*> parts;
    for (auto i : cross) {
      MLSD_REQUIRE(i < columns.size(), fn, "cross refers to column ", i, " of ", columns.size());
      parts.push_back(&columns[i]);
    }
    sources.emplace_back(std::move(parts), seed);
  }
  const auto width = static_cast<std::int64_t>(sources.size());
  return run_in_arena([&] {
    // A dictionary column hashed alone: each dictionary value is hashed once (when the dictionary
    // is not larger than the column), and rows look their code up.
    const detail::EntryCoder code_of_hash(n_features, alternate_sign);
    for (auto& s : sources) {
      const Column& c = *s.parts[0];
      if (s.parts.size() > 1 || c.kind != Column::Kind::dictionary || c.strings.size() > static_cast<std::size_t>(n_rows))
        continue;
      s.table.resize(c.strings.size());
      tbb::parallel_for(std::size_t{0}, s.table.size(), [&](std::size_t v) {
        MurmurStream h = s.start;
        const auto text = string_at(c.strings, static_cast<std::int64_t>(v));
        h.update(text.data(), text.size());
        s.table[v] = code_of_hash(h.finish());
      });
    }
    detail::FixedWidthRows rows(n_rows, width);
    // Within a block of rows, one source at a time keeps each column's reads sequential.
    auto fill = [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t k = 0; k < width; ++k) {
        const Source& s = sources[k];
        const Column& c = *s.parts[0];
        auto each_row = [&](auto&& code_of) {
          rows.fill_slot(lo, hi, k, [&](std::int64_t r0, std::int64_t n, std::uint32_t* out) {
            for (std::int64_t l = 0; l < n; ++l) out[l] = code_of(r0 + l);
          });
        };
        auto general = [&](std::int64_t r) { return s.present(r) ? code_of_hash(s.hash(r)) : detail::kNoEntry; };
        if (!s.table.empty()) {
          each_row([&](std::int64_t r) { return present(c, r) ? s.table[c.ints[r]] : detail::kNoEntry; });
        } else if (s.parts.size() == 1 && c.kind == Column::Kind::strings) {
          // The common case, a string column on its own: 8 rows at a time when the CPU allows.
          rows.fill_slot(lo, hi, k, [&](std::int64_t r0, std::int64_t n, std::uint32_t* out) {
            std::uint32_t hashes[8];
            if (n == 8 && detail::hash_strings_x8(s.start, c.strings, r0, hashes)) {
              for (std::int64_t l = 0; l < 8; ++l)
                out[l] = c.valid.empty() || c.valid[r0 + l] ? code_of_hash(hashes[l]) : detail::kNoEntry;
            } else {
              for (std::int64_t l = 0; l < n; ++l) out[l] = general(r0 + l);
            }
          });
        } else {
          each_row(general);
        }
      }
    };
    // The output is sized by the number of present keys (not n_rows * width: with mostly missing
    // values that could exceed what the system lets a process reserve).
    std::int64_t entries = 0;
    for (const auto& s : sources)
      entries += s.always_present() ? n_rows
                                    : tbb::parallel_reduce(
                                          tbb::blocked_range<std::int64_t>(0, n_rows), std::int64_t{0},
                                          [&](const tbb::blocked_range<std::int64_t>& rr, std::int64_t n) {
                                            for (auto r = rr.begin(); r != rr.end(); ++r) n += s.present(r);
                                            return n;
                                          },
                                          std::plus<>());
    return rows.build(fill, entries);
  });
}

}  // namespace mlsd::hashing
