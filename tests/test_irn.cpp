// IRN stage: path indices, affinities and the sparse random walk against the official
// misc/indexing.py (python3-torch oracle), plus the walk's own invariants.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "amr/base/error.h"
#include "amr/io/pth.h"
#include "amr/irn/path_index.h"
#include "amr/irn/random_walk.h"
#include "test_support.h"

namespace {

std::map<std::string, at::Tensor> read_dict(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : amr::read_pth(path)) out[k] = v;
  return out;
}

#define SKIP_WITHOUT_REFERENCE() \
  if (!amr::test::reference_available()) GTEST_SKIP() << "official AMR code not found at " << AMR_REFERENCE_DIR

void expect_equal_indices(const std::map<std::string, at::Tensor>& ref, const std::string& name, int64_t radius, int64_t h, int64_t w) {
  const amr::PathIndices pi = amr::path_indices(radius, h, w);
  ASSERT_TRUE(ref.count(name + "_src"));
  EXPECT_TRUE(pi.sources.equal(ref.at(name + "_src"))) << name;
  EXPECT_TRUE(pi.destinations.equal(ref.at(name + "_dst"))) << name;
  size_t groups = 0;
  while (ref.count(name + "_len" + std::to_string(groups))) ++groups;
  ASSERT_EQ(pi.by_length.size(), groups) << name;
  for (size_t i = 0; i < groups; ++i) EXPECT_TRUE(pi.by_length[i].equal(ref.at(name + "_len" + std::to_string(i)))) << name << " group " << i;
  std::vector<int64_t> dirs;
  for (const auto& d : pi.paths.directions) dirs.insert(dirs.end(), d.begin(), d.end());
  EXPECT_TRUE(at::tensor(dirs).view({-1, 2}).equal(ref.at(name + "_search_dst"))) << name;
}

}  // namespace

TEST(PathIndex, EqualsOfficialPathIndex) {
  SKIP_WITHOUT_REFERENCE();
  amr::test::TempDir dir;
  amr::test::run_python(std::string("irn_walk_reference.py ") + AMR_REFERENCE_DIR + " " + dir.path() + " 23 19 2 10 8");
  const auto ref = read_dict(dir / "paths.pth");
  expect_equal_indices(ref, "r10", 10, 40, 36);
  expect_equal_indices(ref, "r5", 5, 21, 30);
}

TEST(PathIndex, DirectionsCoverTheHalfDisc) {
  const amr::SearchPaths sp = amr::search_paths(5);
  // Lattice points with 0 < |d| < 5 number 68; one of each +-pair: 34.
  EXPECT_EQ(sp.directions.size(), 34u);
  for (const auto& group : sp.by_length)
    for (const auto& path : group) {
      EXPECT_EQ(path.size(), group.front().size());
      EXPECT_EQ(path.back(), (amr::Offset{0, 0}));  // every path ends at its source
    }
  EXPECT_THROW(amr::search_paths(1), amr::Error);
}

TEST(RandomWalk, SparseEqualsOfficialDense) {
  SKIP_WITHOUT_REFERENCE();
  amr::test::TempDir dir;
  amr::test::run_python(std::string("irn_walk_reference.py ") + AMR_REFERENCE_DIR + " " + dir.path() + " 23 19 2 10 8");
  const auto ref = read_dict(dir / "walk.pth");
  amr::RandomWalkOptions opt;  // beta 10, 2^8 steps, radius 5: make_sem_seg_labels' settings
  const at::Tensor rw = amr::random_walk(ref.at("cams"), ref.at("edge"), opt);
  const double scale = ref.at("rw").abs().max().item<double>();
  std::cout << "walk: max abs error vs float32 dense " << (rw - ref.at("rw")).abs().max().item<double>() << ", vs float64 dense "
            << (rw.to(at::kDouble) - ref.at("rw64")).abs().max().item<double>() << " at scale " << scale << "\n";
  ASSERT_GT(scale, 1e-3);
  EXPECT_LT((rw - ref.at("rw")).abs().max().item<double>(), 1e-4 * scale);
  EXPECT_LT((rw.to(at::kDouble) - ref.at("rw64")).abs().max().item<double>(), 1e-4 * scale);
  // The walk moved the CAMs: not the identity.
  EXPECT_GT((ref.at("rw") - ref.at("cams") * (1 - ref.at("edge"))).abs().max().item<double>(), 10 * 1e-4 * scale);
}

TEST(RandomWalk, ConservesMassPerColumnAndStopsAtBoundaries) {
  // A vertical wall of boundary 1 splits the map: nothing crosses it.
  at::Tensor edge = at::zeros({12, 16});
  edge.select(1, 8).fill_(1.0);
  at::Tensor cams = at::zeros({1, 12, 16});
  cams[0][6][2] = 1.0;
  amr::RandomWalkOptions opt;
  opt.exp_times = 6;
  const at::Tensor rw = amr::random_walk(cams, edge, opt);
  EXPECT_EQ(rw.slice(2, 8).abs().max().item<float>(), 0.0f);
  EXPECT_GT(rw.slice(2, 0, 8).min().item<float>(), 0.0f);  // spread over the whole left side
  // v T keeps the mass of v weighted by the column sums: sum_j (vT)_j D_j / ... ; simpler: the
  // transition has non-negative weights summing to 1 at each pixel.
  const amr::SparseTransition t = amr::sparse_transition(edge, opt);
  EXPECT_LT((t.weights.sum(0) - 1).abs().max().item<float>(), 1e-5f);
  EXPECT_GE(t.weights.min().item<float>(), 0.0f);
}

TEST(RandomWalk, RejectsBadSettingsAndShapes) {
  const at::Tensor edge = at::zeros({8, 8}), cams = at::zeros({2, 8, 8});
  auto message = [&](amr::RandomWalkOptions opt, const at::Tensor& c, const at::Tensor& e) {
    try {
      amr::random_walk(c, e, opt);
    } catch (const amr::Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  amr::RandomWalkOptions beta0;
  beta0.beta = 0;
  EXPECT_NE(message(beta0, cams, edge).find("--beta"), std::string::npos);
  amr::RandomWalkOptions negative;
  negative.exp_times = -1;
  EXPECT_NE(message(negative, cams, edge).find("--exp-times"), std::string::npos);
  EXPECT_NE(message({}, at::zeros({2, 8, 9}), edge).find("do not match the boundary map"), std::string::npos);
  EXPECT_NE(message({}, cams, at::zeros({1, 8, 8})).find("boundary map [h, w]"), std::string::npos);
  at::Tensor nan_edge = edge.clone();
  nan_edge[0][0] = NAN;
  EXPECT_NE(message({}, cams, nan_edge).find("NaN"), std::string::npos);
}
