#include <cstring>
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
