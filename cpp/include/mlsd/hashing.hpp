// mlsd::hashing — the hashing trick for sparse categorical features.
//
// Data layout, stated once for the family:
//   * Strings are a flat byte buffer plus int64 or int32 offsets (n + 1 entries): string i is
//     data[offsets[i] .. offsets[i+1]), UTF-8, no terminator (Arrow's layout).
//   * Hashed output is CSR: row r owns entries [indptr[r], indptr[r+1]), in insertion order
//     (hash_features) or summed, sorted by bucket (hash_features_summed, hash_columns).
// Bucket and sign follow scikit-learn's FeatureHasher exactly: h = MurmurHash3_x86_32(key, seed)
// read as int32; bucket = |h| mod n_features (h = INT32_MIN maps to
// (INT32_MAX - (n_features - 1)) mod n_features); with alternate_sign the value is negated when
// h < 0.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mlsd/common/views.hpp"

namespace mlsd::hashing {

// MurmurHash3_x86_32 (Austin Appleby, public domain algorithm); bytes read little-endian.
std::uint32_t murmurhash3_32(const void* key, std::size_t len, std::uint32_t seed);

// Hash of each int32 key (its 4 little-endian bytes), in parallel.
void murmurhash3_32_int32(std::span<const std::int32_t> keys, std::uint32_t seed, std::span<std::uint32_t> out);

struct StringsView {
  std::span<const char> data;
  std::span<const std::int64_t> offsets;    // size() == n + 1
  std::span<const std::int32_t> offsets32;  // used instead when offsets is empty (Arrow's `string` type)

  std::size_t size() const {
    const std::size_t m = offsets.empty() ? offsets32.size() : offsets.size();
    return m == 0 ? 0 : m - 1;
  }
  std::int64_t offset(std::size_t i) const { return offsets.empty() ? offsets32[i] : offsets[i]; }
  std::string_view operator[](std::size_t i) const {
    const auto b = offset(i);
    return {data.data() + b, static_cast<std::size_t>(offset(i + 1) - b)};
  }
};

// Throws std::invalid_argument (naming fn and what) unless offsets are >= 0 (a sliced Arrow array's
// start where it starts), never decrease and stay within data: every kernel reading a StringsView
// checks it first.
void check_strings(const StringsView& s, const char* fn, const char* what);
// Throws unless 1 <= n_features <= 2^31 - 1 (bucket indices are int32, as in scikit-learn).
void check_n_features(std::int64_t n_features, const char* fn);

inline std::int64_t bucket_of(std::int32_t h, std::int64_t n_features) {
  if (h == INT32_MIN) return (INT32_MAX - (n_features - 1)) % n_features;
  return static_cast<std::int64_t>(h < 0 ? -h : h) % n_features;
}

struct HashedEntries {
  buffer<std::int32_t> indices;  // bucket of each kept entry (< n_features <= 2^31 - 1), insertion order
  buffer<double> values;         // signed value of each kept entry
  buffer<std::int64_t> indptr;   // n_rows + 1
};

// FeatureHasher's core: feature i (name names[i], value values[i]; every value is 1 when `values`
// is empty) belongs to the row given by row_indptr.  Entries whose value is 0 are dropped before
// hashing (as scikit-learn does); the rest are hashed in parallel.  Output is identical for any
// thread count.
HashedEntries hash_features(StringsView names, std::span<const double> values, std::span<const std::int64_t> row_indptr,
                            std::int64_t n_features, std::uint32_t seed, bool alternate_sign);

// hash_features for keys whose value is 1 (FeatureHasher's string input), returned summed: each row
// sorted by bucket with its duplicates summed (+-1 each; cancelling signs leave an explicit 0),
// exactly what scipy's sum_duplicates leaves of hash_features' output.  Never sorts more than a row.
HashedEntries hash_features_summed(StringsView names, std::span<const std::int64_t> row_indptr, std::int64_t n_features,
                                   std::uint32_t seed, bool alternate_sign);

// Writes the keys of rows [row_lo, row_hi), in order, to keys[0 .. row_indptr[row_hi] - row_indptr[row_lo]).
// Called from worker threads, concurrently for disjoint row ranges; the views must stay valid for
// the whole call.
using KeySource = std::function<void(std::int64_t row_lo, std::int64_t row_hi, std::string_view* keys)>;

// hash_features_summed over keys that live elsewhere (e.g. in Python str objects): each key is
// read where it is, so no flat copy of the keys is made.
HashedEntries hash_keys_summed(const KeySource& keys, std::span<const std::int64_t> row_indptr, std::int64_t n_features,
                               std::uint32_t seed, bool alternate_sign);

// The most keys a row may have for hashing it summed (hash_features_summed, hash_key_rows_summed):
// +-1 sums of at most 2**24 terms are integers exact in float32 (and float64), so a summed row is
// what summing in any dtype would give.  Longer rows are hashed with hash_features and summed by
// the caller in its dtype, as scikit-learn does.  The one home of this rule.
inline constexpr std::int64_t kMaxSummedRowKeys = std::int64_t{1} << 24;

// True when every row of row_indptr has at most kMaxSummedRowKeys keys.
bool rows_sum_exactly(std::span<const std::int64_t> row_indptr);

// Rows of keys that live outside this library (e.g. in Python str objects) and are read in place
// by worker threads, so that no flat copy of them is made.  Both functions are called
// concurrently, for distinct rows, and must only read memory that stays unchanged for the call.
struct KeyRows {
  std::int64_t n_rows = 0;
  // Number of keys of row r, or -1 when row r cannot be read in place.
  std::function<std::int64_t(std::int64_t r)> size;
  // Writes row r's size(r) keys to keys[0 ..); false when one of them cannot be read in place
  // (the rest of the row may then be left unwritten).
  std::function<bool(std::int64_t r, std::string_view* keys)> read;
};

// hash_features_summed over KeyRows, or nullopt when a row or a key cannot be read in place or a
// row has more than kMaxSummedRowKeys keys (the caller then flattens the keys and hashes those).
std::optional<HashedEntries> hash_key_rows_summed(const KeyRows& rows, std::int64_t n_features, std::uint32_t seed,
                                                  bool alternate_sign);

// ---- columnar hashing ------------------------------------------------------------------------
// A column of n_rows values: strings (Arrow layout), int64, or dictionary-encoded (codes into a
// dictionary of strings; code -1 is missing).  `valid` (empty: all valid) marks missing rows.
struct Column {
  enum class Kind { strings, ints, dictionary };
  // Throws std::invalid_argument (naming fn) unless kind is one of the three above (an enum may
  // hold any integer: a value from another language's binding is checked, never defaulted).
  static void check_kind(Kind kind, const char* fn);
  Kind kind = Kind::strings;
  std::string name;
  StringsView strings;                 // strings: the values; dictionary: the dictionary
  std::span<const std::int64_t> ints;  // ints: the values; dictionary: the codes
  std::span<const std::uint8_t> valid;
};

// Key of a column value: "<name>=<text>", text = the string, or the integer in decimal.  A cross
// of columns (c1, c2, ...) has the key "<c1>=<t1>\x1f<c2>=<t2>..." (parts joined by the ASCII unit
// separator) and exists only where every part is present.  Each key is hashed like a
// FeatureHasher feature with value 1.  Row r's keys: its present columns among the first n_single,
// then its crosses; columns past n_single appear only in crosses.  `crosses` lists column
// positions.  The output is summed like hash_features_summed's.
HashedEntries hash_columns(std::span<const Column> columns, std::size_t n_single,
                           std::span<const std::vector<std::size_t>> crosses, std::int64_t n_rows,
                           std::int64_t n_features, std::uint32_t seed, bool alternate_sign);

// scipy's csr sum_duplicates, row by row in parallel: each row's (index, value) pairs are sorted by
// index with std::sort comparing the index only (as scipy's csr_sort_indices does), then runs of
// equal indices are summed in that order; sums that cancel stay as explicit zeros.
HashedEntries sum_duplicates(std::span<const std::int32_t> indices, std::span<const double> values,
                             std::span<const std::int64_t> indptr);

}  // namespace mlsd::hashing
