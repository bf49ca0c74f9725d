#include <cstring>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mlsd/common/parallel.hpp"
#include "mlsd/hashing.hpp"

namespace mh = mlsd::hashing;

namespace {

std::uint32_t mm3(const std::string& s, std::uint32_t seed) { return mh::murmurhash3_32(s.data(), s.size(), seed); }

TEST(MurmurHash3, PublishedTestVectors) {
  // MurmurHash3_x86_32 vectors as published with the reference implementation's test suites.
  EXPECT_EQ(mm3("", 0), 0u);
  EXPECT_EQ(mm3("", 1), 0x514E28B7u);
  EXPECT_EQ(mm3("", 0xffffffffu), 0x81F16F39u);
  EXPECT_EQ(mm3(std::string(4, '\0'), 0), 0x2362F9DEu);
  EXPECT_EQ(mm3("aaaa", 0x9747b28cu), 0x5A97808Au);
  EXPECT_EQ(mm3("aaa", 0x9747b28cu), 0x283E0130u);
  EXPECT_EQ(mm3("aa", 0x9747b28cu), 0x5D211726u);
  EXPECT_EQ(mm3("a", 0x9747b28cu), 0x7FA09EA6u);
  EXPECT_EQ(mm3("abcd", 0x9747b28cu), 0xF0478627u);
  EXPECT_EQ(mm3("Hello, world!", 0x9747b28cu), 0x24884CBAu);
  EXPECT_EQ(mm3("The quick brown fox jumps over the lazy dog", 0x9747b28cu), 0x2FA826CDu);
  // scikit-learn's documented example: murmurhash3_32(b"Hello World!", seed=42) == 3565178.
  EXPECT_EQ(mm3("Hello World!", 42), 3565178u);
}

TEST(MurmurHash3, Int32KeysHashTheirLittleEndianBytes) {
  const std::vector<std::int32_t> keys{0, 1, -1, 123456789, INT32_MIN};
  std::vector<std::uint32_t> out(keys.size());
  mh::murmurhash3_32_int32(keys, 7, out);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    unsigned char b[4];
    const auto u = static_cast<std::uint32_t>(keys[i]);
    for (int j = 0; j < 4; ++j) b[j] = static_cast<unsigned char>(u >> (8 * j));
    EXPECT_EQ(out[i], mh::murmurhash3_32(b, 4, 7));
  }
}

TEST(FeatureHashing, BucketAndSignFollowScikitLearn) {
  EXPECT_EQ(mh::bucket_of(-7, 5), 2);
  EXPECT_EQ(mh::bucket_of(7, 5), 2);
  EXPECT_EQ(mh::bucket_of(INT32_MIN, 10), (INT32_MAX - 9) % 10);
  EXPECT_EQ(mh::bucket_of(INT32_MAX, 1), 0);
}

TEST(FeatureHashing, DropsZerosKeepsOrderAndRows) {
  const std::string data = "dogcatrunzero";
  const std::vector<std::int64_t> offsets{0, 3, 6, 9, 13};
  const std::vector<double> values{1.0, 2.0, 5.0, 0.0};
  const std::vector<std::int64_t> rows{0, 2, 2, 4};  // row 1 is empty
  const auto r = mh::hash_features({data, offsets}, values, rows, 1 << 20, 0, true);
  ASSERT_EQ(r.indices.size(), 3u);
  EXPECT_EQ(std::vector<std::int64_t>(r.indptr.begin(), r.indptr.end()), (std::vector<std::int64_t>{0, 2, 2, 3}));
  const char* names[] = {"dog", "cat", "run"};
  for (int i = 0; i < 3; ++i) {
    const auto h = static_cast<std::int32_t>(mh::murmurhash3_32(names[i], 3, 0));
    EXPECT_EQ(r.indices[i], mh::bucket_of(h, 1 << 20));
    EXPECT_EQ(r.values[i], (h < 0 ? -1.0 : 1.0) * values[i]);
  }
  EXPECT_THROW(mh::hash_features({data, offsets}, values, rows, 0, 0, true), std::invalid_argument);
}

TEST(FeatureHashing, SameOutputForAnyThreadCount) {
  std::string data;
  std::vector<std::int64_t> offsets{0};
  std::vector<double> values;
  std::vector<std::int64_t> rows{0};
  for (int i = 0; i < 200000; ++i) {
    data += "f" + std::to_string(i % 977) + "=v" + std::to_string(i % 13);
    offsets.push_back(static_cast<std::int64_t>(data.size()));
    values.push_back(i % 7 == 0 ? 0.0 : 1.5);
    if (i % 9 == 8) rows.push_back(i + 1);
  }
  rows.push_back(static_cast<std::int64_t>(values.size()));
  mlsd::set_num_threads(1);
  const auto a = mh::hash_features({data, offsets}, values, rows, 1000, 3, true);
  mlsd::set_num_threads(2);
  const auto b = mh::hash_features({data, offsets}, values, rows, 1000, 3, true);
  mlsd::set_num_threads(0);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.indptr, b.indptr);
}

}  // namespace

namespace {

TEST(ColumnHashing, MalformedStringOffsetsAreRejectedNotRead) {
  const std::string data = "abc";
  const std::vector<std::int64_t> bad_offsets{0, 2, 9};  // past the end of data
  mh::Column c;
  c.name = "s";
  c.strings = {data, bad_offsets};
  const std::vector<mh::Column> cols{c};
  EXPECT_THROW(mh::hash_columns(cols, 1, {}, 2, 16, 0, true), std::invalid_argument);
  const std::vector<std::int64_t> decreasing{0, 2, 1};
  std::vector<mh::Column> cols2{c};
  cols2[0].strings = {data, decreasing};
  EXPECT_THROW(mh::hash_columns(cols2, 1, {}, 2, 16, 0, true), std::invalid_argument);
  std::vector<mh::Column> ok{c};
  const std::vector<std::int64_t> good{0, 2, 3};
  ok[0].strings = {data, good};
  const auto r = mh::hash_columns(ok, 1, {}, 2, 16, 0, true);
  EXPECT_EQ(r.indices.size(), 2u);
  EXPECT_EQ(r.indices[0], mh::bucket_of(static_cast<std::int32_t>(mh::murmurhash3_32("s=ab", 4, 0)), 16));
}

}  // namespace

#include <algorithm>
#include <optional>
#include <random>

#include "mlsd/detail/canonical_rows.hpp"
#include "mlsd/detail/murmurhash3_stream.hpp"

namespace {

TEST(MurmurHash3, StreamEqualsOneShotForAnySplit) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string key(rng() % 40, '\0');
    for (auto& c : key) c = static_cast<char>(rng());
    const std::uint32_t seed = trial % 3 == 0 ? 0u : static_cast<std::uint32_t>(rng());
    // Up to four pieces cut at random points: every prefix length and tail length occurs.
    std::vector<std::size_t> cuts{0, key.size()};
    for (int c = 0; c < 3; ++c) cuts.push_back(key.empty() ? 0 : rng() % (key.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    mh::detail::MurmurStream h(seed);
    for (std::size_t i = 1; i < cuts.size(); ++i) h.update(key.data() + cuts[i - 1], cuts[i] - cuts[i - 1]);
    ASSERT_EQ(h.finish(), mm3(key, seed)) << "key length " << key.size() << ", trial " << trial;
  }
  for (std::size_t prefix = 0; prefix < 9; ++prefix)  // byte by byte after each prefix length
    for (std::size_t len = prefix; len < 20; ++len) {
      const std::string key = std::string("abcdefghijklmnopqrstuvwxyz").substr(0, len);
      mh::detail::MurmurStream h(42);
      h.update(key.data(), prefix);
      for (std::size_t i = prefix; i < len; ++i) h.update(key[i]);
      EXPECT_EQ(h.finish(), mm3(key, 42));
    }
}

TEST(MurmurHash3, EightStringsAtOnceEqualTheStream) {
  // Prefixes leaving 0..3 bytes pending; strings of 0..40 bytes (some past the vector loop's usual
  // length), the last ones ending at the buffer's end (their final bytes come from the window
  // ending there); 32- and 64-bit offsets, not starting at 0.
  std::mt19937 rng(17);
  for (int trial = 0; trial < 400; ++trial) {
    std::string data(rng() % 5, 'p');  // bytes before the first string
    std::vector<std::int64_t> offsets{static_cast<std::int64_t>(data.size())};
    for (int i = 0; i < 16; ++i) {
      const std::size_t len = trial % 4 == 0 ? rng() % 41 : rng() % 7;
      for (std::size_t j = 0; j < len; ++j) data += static_cast<char>(rng());
      offsets.push_back(static_cast<std::int64_t>(data.size()));
    }
    const std::vector<std::int32_t> offsets32(offsets.begin(), offsets.end());
    const std::string prefix(static_cast<std::size_t>(trial % 9), 'x');
    mh::detail::MurmurStream start(static_cast<std::uint32_t>(trial));
    start.update(prefix.data(), prefix.size());
    for (int wide = 0; wide < 2; ++wide) {
      mh::StringsView s{data, {}};
      if (wide) s.offsets = offsets;
      else s.offsets32 = offsets32;
      for (std::int64_t first : {0, 3, 8}) {
        std::uint32_t got[8];
        if (!mh::detail::hash_strings_x8(start, s, first, got)) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
          EXPECT_TRUE(data.size() < 4 || !__builtin_cpu_supports("avx2"));  // the vector code declines only these
#endif
          continue;
        }
        for (int l = 0; l < 8; ++l) {
          mh::detail::MurmurStream h = start;
          const auto v = s[static_cast<std::size_t>(first + l)];
          h.update(v.data(), v.size());
          ASSERT_EQ(got[l], h.finish()) << "trial " << trial << ", row " << first + l << ", length " << v.size();
        }
      }
    }
  }
}

TEST(FeatureHashing, EntryCodeEqualsBucketAndSign) {
  std::mt19937 rng(5);
  std::vector<std::int64_t> ns{1, 2, 3, 5, 7, 10, 16, 1000003, 1 << 20, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX};
  for (int i = 0; i < 20; ++i) ns.push_back(1 + rng() % INT32_MAX);
  std::vector<std::uint32_t> hashes{0, 1, 0x7FFFFFFFu, 0x80000000u, 0x80000001u, 0xFFFFFFFFu};
  for (int i = 0; i < 2000; ++i) hashes.push_back(static_cast<std::uint32_t>(rng()));
  for (auto n : ns)
    for (bool sign : {true, false}) {
      const mh::detail::EntryCoder code(n, sign);
      for (auto u : hashes) {
        const auto h = static_cast<std::int32_t>(u);
        ASSERT_EQ(code(u) >> 1, static_cast<std::uint32_t>(mh::bucket_of(h, n))) << "n " << n << ", h " << h;
        ASSERT_EQ(code(u) & 1, sign && h < 0 ? 1u : 0u);
      }
    }
}

// Random unit-valued rows: empty ones, short ones (insertion sort) and long ones (std::sort), with
// few buckets so that duplicates and cancelling signs are common.
struct UnitRows {
  std::string data;
  std::vector<std::int64_t> offsets{0}, rows{0};
  explicit UnitRows(unsigned seed) {
    std::mt19937 rng(seed);
    for (int r = 0; r < 3000; ++r) {
      const int len = r % 50 == 0 ? 200 + static_cast<int>(rng() % 300) : static_cast<int>(rng() % 40);
      for (int i = 0; i < len; ++i) {
        data += "k" + std::to_string(rng() % 500);
        offsets.push_back(static_cast<std::int64_t>(data.size()));
      }
      rows.push_back(static_cast<std::int64_t>(offsets.size()) - 1);
    }
  }
  mh::StringsView names() const { return {data, offsets}; }
};

void expect_same(const mh::HashedEntries& a, const mh::HashedEntries& b) {
  EXPECT_EQ(a.indptr, b.indptr);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.values, b.values);
}

TEST(FeatureHashing, SummedEqualsHashThenSumDuplicates) {
  const UnitRows in(3);
  for (std::int64_t n_features : {7, 64, 1 << 20})
    for (bool sign : {true, false}) {
      const auto raw = mh::hash_features(in.names(), {}, in.rows, n_features, 9, sign);
      const auto ref = mh::sum_duplicates(raw.indices, raw.values, raw.indptr);
      mlsd::set_num_threads(1);
      expect_same(mh::hash_features_summed(in.names(), in.rows, n_features, 9, sign), ref);
      mlsd::set_num_threads(2);
      expect_same(mh::hash_features_summed(in.names(), in.rows, n_features, 9, sign), ref);
      mlsd::set_num_threads(0);
    }
}

// Keys read in place through KeyRows: the same as the flat layout; nullopt (nothing decided) when a
// row or a key cannot be read, or a row is too long to be summed exactly.
TEST(FeatureHashing, KeyRowsInPlaceEqualFlatKeys) {
  const UnitRows in(4);
  const auto n_rows = static_cast<std::int64_t>(in.rows.size()) - 1;
  const auto names = in.names();
  auto rows_with = [&](std::int64_t bad_row, std::int64_t bad_key_row) {
    mh::KeyRows rows;
    rows.n_rows = n_rows;
    rows.size = [&, bad_row](std::int64_t r) { return r == bad_row ? -1 : in.rows[r + 1] - in.rows[r]; };
    rows.read = [&, bad_key_row](std::int64_t r, std::string_view* keys) {
      for (auto i = in.rows[r]; i < in.rows[r + 1]; ++i) *keys++ = names[static_cast<std::size_t>(i)];
      return r != bad_key_row;
    };
    return rows;
  };
  for (int threads : {1, 2}) {
    mlsd::set_num_threads(threads);
    const auto got = mh::hash_key_rows_summed(rows_with(-1, -1), 64, 9, true);
    ASSERT_TRUE(got.has_value());
    expect_same(*got, mh::hash_features_summed(names, in.rows, 64, 9, true));
    EXPECT_FALSE(mh::hash_key_rows_summed(rows_with(n_rows - 1, -1), 64, 9, true).has_value());
    EXPECT_FALSE(mh::hash_key_rows_summed(rows_with(-1, n_rows / 2), 64, 9, true).has_value());
  }
  mlsd::set_num_threads(0);
  // A row of 2**24 + 1 keys is declined before any key is read.
  mh::KeyRows too_long;
  too_long.n_rows = 2;
  too_long.size = [](std::int64_t r) { return r == 1 ? mh::kMaxSummedRowKeys + 1 : std::int64_t{0}; };
  too_long.read = [](std::int64_t, std::string_view*) -> bool { throw std::logic_error("must not be read"); };
  EXPECT_FALSE(mh::hash_key_rows_summed(too_long, 64, 9, true).has_value());
  const mh::KeyRows empty{0, too_long.size, too_long.read};
  EXPECT_EQ(mh::hash_key_rows_summed(empty, 64, 9, true)->indptr.size(), 1u);
}

TEST(FeatureHashing, RowsSumExactlyUpTo2To24Keys) {
  const std::int64_t m = mh::kMaxSummedRowKeys;
  EXPECT_EQ(m, std::int64_t{1} << 24);
  EXPECT_TRUE(mh::rows_sum_exactly(std::vector<std::int64_t>{0}));
  EXPECT_TRUE(mh::rows_sum_exactly(std::vector<std::int64_t>{0, 3, m + 3, 2 * m + 3}));
  EXPECT_FALSE(mh::rows_sum_exactly(std::vector<std::int64_t>{0, 3, m + 4, m + 5}));
}

TEST(ColumnHashing, UnknownKindIsAnError) {
  const std::vector<std::int64_t> ints{1, 2};
  mh::Column c;
  c.kind = static_cast<mh::Column::Kind>(7);
  c.name = "c";
  c.ints = ints;
  EXPECT_THROW(mh::Column::check_kind(c.kind, "test"), std::invalid_argument);
  EXPECT_THROW(mh::hash_columns(std::span<const mh::Column>(&c, 1), 1, {}, 2, 16, 0, true), std::invalid_argument);
  c.kind = mh::Column::Kind::ints;
  EXPECT_EQ(mh::hash_columns(std::span<const mh::Column>(&c, 1), 1, {}, 2, 16, 0, true).indptr.size(), 3u);
}

TEST(ColumnHashing, EqualsFeatureHashingOfTheDocumentedKeys) {
  // Strings with missing rows, integers (negative, extreme), a dictionary with missing codes, and
  // crosses of two and three columns; keys built by hand as the header documents them.
  std::mt19937 rng(8);
  const std::int64_t n = 5000;
  std::string sdata;
  std::vector<std::int64_t> soff{0}, ints(n), codes(n);
  std::vector<std::uint8_t> svalid(n), ivalid(n);
  const std::vector<std::string> words{"", "a", "bb", "ccc", "dddd", "\xc3\xa9t\xc3\xa9", "x=y", "long value here"};
  std::string ddata;
  std::vector<std::int64_t> doff{0};
  for (const auto& w : words) {
    ddata += w;
    doff.push_back(static_cast<std::int64_t>(ddata.size()));
  }
  const std::vector<std::int64_t> extremes{0, -1, 7, INT64_MIN, INT64_MAX, 1234567890123};
  for (std::int64_t r = 0; r < n; ++r) {
    sdata += words[rng() % words.size()] + std::to_string(rng() % 100);
    soff.push_back(static_cast<std::int64_t>(sdata.size()));
    svalid[r] = rng() % 10 != 0;
    ints[r] = r % 7 == 0 ? extremes[rng() % extremes.size()] : static_cast<std::int64_t>(rng() % 1000) - 300;
    ivalid[r] = rng() % 8 != 0;
    codes[r] = static_cast<std::int64_t>(rng() % (words.size() + 1)) - 1;  // -1: missing
  }
  std::vector<mh::Column> cols(4);
  cols[0].name = "s";
  cols[0].strings = {sdata, soff};
  cols[0].valid = svalid;
  cols[1].name = "i";
  cols[1].kind = mh::Column::Kind::ints;
  cols[1].ints = ints;
  cols[1].valid = ivalid;
  cols[2].name = "d";
  cols[2].kind = mh::Column::Kind::dictionary;
  cols[2].strings = {ddata, doff};
  cols[2].ints = codes;
  cols[3].name = "plain";  // used in a cross only, with 32-bit offsets
  const std::vector<std::int32_t> soff32(soff.begin(), soff.end());
  cols[3].strings.data = sdata;
  cols[3].strings.offsets32 = soff32;
  const std::vector<std::vector<std::size_t>> crosses{{0, 1}, {2, 1, 3}, {3, 2}};

  auto text = [&](std::size_t c, std::int64_t r) -> std::optional<std::string> {
    const auto& col = cols[c];
    if (!col.valid.empty() && !col.valid[r]) return std::nullopt;
    auto str = [](const mh::StringsView& s, std::int64_t i) { return std::string(s[static_cast<std::size_t>(i)]); };
    if (col.kind == mh::Column::Kind::ints) return col.name + "=" + std::to_string(col.ints[r]);
    if (col.kind == mh::Column::Kind::dictionary)
      return col.ints[r] < 0 ? std::nullopt : std::optional(col.name + "=" + str(col.strings, col.ints[r]));
    return col.name + "=" + str(col.strings, r);
  };
  std::string kdata;
  std::vector<std::int64_t> koff{0}, krows{0};
  auto push = [&](const std::string& k) {
    kdata += k;
    koff.push_back(static_cast<std::int64_t>(kdata.size()));
  };
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < 3; ++c)
      if (auto t = text(c, r)) push(*t);
    for (const auto& cross : crosses) {
      std::string key;
      bool all = true;
      for (std::size_t j = 0; j < cross.size(); ++j) {
        auto t = text(cross[j], r);
        all = all && t.has_value();
        if (t) key += (j ? "\x1f" : "") + *t;
      }
      if (all) push(key);
    }
    krows.push_back(static_cast<std::int64_t>(koff.size()) - 1);
  }
  for (std::int64_t n_features : {13, 1 << 18}) {
    const auto raw = mh::hash_features({kdata, koff}, {}, krows, n_features, 77, true);
    const auto ref = mh::sum_duplicates(raw.indices, raw.values, raw.indptr);
    for (int threads : {1, 2}) {
      mlsd::set_num_threads(threads);
      expect_same(mh::hash_columns(cols, 3, crosses, n, n_features, 77, true), ref);
    }
    mlsd::set_num_threads(0);
  }
}

}  // namespace

namespace {

TEST(FeatureHashing, FixedWidthRowsSortLikeRowByRow) {
  // Widths around the network's powers of two; row counts that leave a partial lane group and a
  // partial block; few distinct codes so that duplicates, cancellations and kNoEntry slots occur.
  // Also with many distinct codes and no kNoEntry (`spread`): most groups of 8 rows then have no
  // duplicate at all, and are written by the whole-group path.
  std::mt19937 rng(21);
  for (bool spread : {false, true}) {
    for (std::int64_t width : {0, 1, 2, 3, 5, 8, 9, 16, 17, 22, 31, 32, 33, 64, 70})
      for (std::int64_t n_rows : {0, 1, 13, 2049, 40000}) {  // 40000: more than one chunk of blocks
        std::vector<std::uint32_t> codes(static_cast<std::size_t>(n_rows * width));
        for (auto& c : codes)
          c = spread ? static_cast<std::uint32_t>(rng() % (1u << 24))
                     : rng() % 7 == 0 ? mh::detail::kNoEntry : static_cast<std::uint32_t>(rng() % 40);
        const auto expected = mlsd::run_in_arena([&] {
          return mh::detail::canonical_ragged_rows(
              n_rows, 64, [&](std::int64_t r) { return r * width; },
              [&](std::int64_t lo, std::int64_t hi, std::uint32_t* out) {
                std::copy(codes.begin() + lo * width, codes.begin() + hi * width, out);
              });
        });
        mh::detail::FixedWidthRows rows(n_rows, width);
        const auto got = mlsd::run_in_arena([&] {
          const auto entries = static_cast<std::int64_t>(std::count_if(
              codes.begin(), codes.end(), [](std::uint32_t c) { return c != mh::detail::kNoEntry; }));
          return rows.build(
              [&](std::int64_t lo, std::int64_t hi) {
                for (auto r = lo; r < hi; ++r)
                  for (std::int64_t k = 0; k < width; ++k)
                    rows.at(r, k) = codes[static_cast<std::size_t>(r * width + k)];
              },
              entries);
        });
        SCOPED_TRACE("width " + std::to_string(width) + ", rows " + std::to_string(n_rows) +
                     (spread ? ", spread" : ""));
        expect_same(got, expected);
      }
  }
}

}  // namespace
