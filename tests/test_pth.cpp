#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "amr/base/error.h"
#include "amr/io/pth.h"
#include "test_support.h"

using amr::test::TempDir;

namespace {

at::Tensor get(const amr::NamedTensors& t, const std::string& name) {
  for (auto& [k, v] : t)
    if (k == name) return v;
  ADD_FAILURE() << "missing key " << name;
  return {};
}

void expect_sample(const amr::NamedTensors& t) {
  std::vector<std::string> names;
  for (auto& kv : t) names.push_back(kv.first);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "a_t", "d", "l", "h", "flag", "scalar", "empty", "param"}));
  at::Tensor a = torch::arange(12, torch::kFloat32).reshape({3, 4}) * 0.5;
  EXPECT_TRUE(torch::equal(get(t, "a"), a));
  EXPECT_TRUE(torch::equal(get(t, "a_t"), a.t()));
  EXPECT_TRUE(torch::equal(get(t, "d"), torch::arange(6, torch::kFloat64) / 3.0));
  EXPECT_TRUE(torch::equal(get(t, "l"), torch::arange(-2, 3, torch::kInt64)));
  EXPECT_EQ(get(t, "h").scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(get(t, "h").to(torch::kFloat), torch::tensor({1.5f, -2.25f})));
  EXPECT_TRUE(torch::equal(get(t, "flag"), torch::tensor({true, false, true})));
  EXPECT_EQ(get(t, "scalar").dim(), 0);
  EXPECT_EQ(get(t, "scalar").item<int64_t>(), 7);
  EXPECT_EQ(get(t, "empty").numel(), 0);
  EXPECT_TRUE(torch::equal(get(t, "param"), torch::full({2, 2}, 3.0f)));
}

void truncate_copy(const std::string& from, const std::string& to, double fraction) {
  auto size = std::filesystem::file_size(from);
  std::ifstream in(from, std::ios::binary);
  std::string bytes(static_cast<size_t>(size * fraction), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(to, std::ios::binary) << bytes;
}

}  // namespace

TEST(Pth, ReadsZipLegacyAndWrappedFormats) {
  TempDir dir;
  amr::test::run_python("make_pth_samples.py " + dir.path());
  expect_sample(amr::read_pth(dir / "zip.pth"));
  expect_sample(amr::read_pth(dir / "legacy.pth"));
  expect_sample(amr::read_pth(dir / "wrapped.pth"));
}

TEST(Pth, TruncatedFilesFailWithOneLine) {
  TempDir dir;
  amr::test::run_python("make_pth_samples.py " + dir.path());
  for (const char* name : {"zip.pth", "legacy.pth"}) {
    for (double fraction : {0.3, 0.9}) {
      const std::string cut = dir / (std::string("cut_") + name);
      truncate_copy(dir / name, cut, fraction);
      try {
        amr::read_pth(cut);
        ADD_FAILURE() << name << " truncated to " << fraction << " was accepted";
      } catch (const amr::Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(cut), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      }
    }
  }
}

TEST(Pth, NotACheckpoint) {
  TempDir dir;
  std::ofstream(dir / "junk.pth") << "hello, this is not a checkpoint";
  EXPECT_THROW(amr::read_pth(dir / "junk.pth"), amr::Error);
  EXPECT_THROW(amr::read_pth(dir / "missing.pth"), amr::Error);
}

TEST(Pth, WrittenFilesLoadInPython) {
  TempDir dir;
  amr::write_pth(dir / "out.pth", {{"w", torch::arange(6, torch::kFloat32).reshape({2, 3})},
                                   {"n", torch::tensor({4, 5}, torch::kInt64)}});
  amr::test::run_python("check_written_pth.py " + (dir / "out.pth"));
  auto back = amr::read_pth(dir / "out.pth");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(torch::equal(back[0].second, torch::arange(6, torch::kFloat32).reshape({2, 3})));
}
