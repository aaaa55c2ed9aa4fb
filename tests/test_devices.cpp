// Devices and process-group backends. On every machine: `--device cuda` without a usable GPU and
// NCCL on the CPU are one-line errors; a Gloo group named for one rank runs its collectives.
// On a machine with a CUDA GPU (a CUDA build; bench/gpu.sh runs these there): `amr train` for 3
// steps on the GPU ends within 1e-3 of the same run on the CPU (cam and amr variants), CAMs and
// AdvCAM agree with the CPU's, bf16 autocast CAMs stay close to fp32, and a 1-rank NCCL run
// equals the plain GPU run. TF32 is off for the comparisons (NVIDIA_TF32_OVERRIDE=0): fp32 vs fp32.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "amr/base/error.h"
#include "amr/distributed/world.h"
#include "amr/io/npz.h"
#include "amr/io/pth.h"
#include "test_support.h"

using amr::test::run_cli;
using amr::test::TempDir;

namespace {

bool has_gpu() { return at::getNumGPUs() > 0; }

int port() { return 30000 + static_cast<int>(getpid() % 20000); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string tiny_run(const std::string& data, const std::string& variant) {
  return " --data " + data + " --variant " + variant +
         " --set arch=resnet18 --set 'strides=[2, 2, 1, 1]' --set bn=train --set routing=joint --set epochs=1"
         " --batch 4 --lr 0.01 --set crop=48 --set 'resize_long=[40, 56]' --workers 0 --set seed=9 --threads 2 --quiet";
}

double max_parameter_difference(const std::string& a, const std::string& b) {
  std::map<std::string, at::Tensor> tb;
  for (auto& [k, v] : amr::read_pth(b)) tb[k] = v;
  double worst = 0;
  for (auto& [k, v] : amr::read_pth(a)) {
    EXPECT_TRUE(tb.count(k)) << k;
    if (!tb.count(k) || k.find("num_batches") != std::string::npos) continue;
    worst = std::max(worst, (v.to(torch::kFloat64) - tb[k].to(torch::kFloat64)).abs().max().item<double>());
  }
  return worst;
}

std::map<std::string, at::Tensor> npz(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : amr::read_npz(path)) out[k] = v;
  return out;
}

// Max |a - b| of the "cam" arrays of two CAM directories over `ids`.
double max_cam_difference(const std::string& a, const std::string& b, const std::vector<std::string>& ids) {
  double worst = 0;
  for (const auto& id : ids) {
    auto ca = npz(a + "/" + id + ".npz"), cb = npz(b + "/" + id + ".npz");
    EXPECT_TRUE(torch::equal(ca.at("keys"), cb.at("keys"))) << id;
    worst = std::max(worst, (ca.at("cam") - cb.at("cam")).abs().max().item<double>());
  }
  return worst;
}

std::vector<std::string> read_ids(const std::string& list) {
  std::ifstream in(list);
  std::vector<std::string> ids;
  for (std::string id; in >> id;) ids.push_back(id);
  return ids;
}

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!has_gpu()) GTEST_SKIP() << "no CUDA GPU here (bench/gpu.sh runs these on a GPU machine)";
    setenv("NVIDIA_TF32_OVERRIDE", "0", 1);  // cuDNN and cuBLAS in true fp32 in the amr processes started here
  }
};

}  // namespace

TEST(Devices, CudaWithoutAUsableGpuIsOneLineError) {
  if (has_gpu()) GTEST_SKIP() << "a CUDA GPU is visible here";
  TempDir d;
  const std::string data = amr::test::small_scenes(d, 4);
  for (const std::string& device : {"cuda", "cuda:1"}) {
    const auto r = run_cli("train --out " + d / "run" + tiny_run(data, "cam") + " --device " + device + " 2>&1");
    EXPECT_NE(r.exit_code, 0);
    const std::string msg = trim(r.output);
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find("--device " + device + ":"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("runs on the CPU only") != std::string::npos || msg.find("no CUDA GPU") != std::string::npos)
        << msg;
    EXPECT_FALSE(std::filesystem::exists(d / "run")) << "nothing written before the device is checked";
  }
}

TEST(Devices, NcclOnTheCpuIsOneLineError) {
  TempDir d;
  const std::string data = amr::test::small_scenes(d, 4);
  const auto r = run_cli("train --out " + d / "run" + tiny_run(data, "cam") + " --dist-backend nccl --world-size 1 2>&1");
  EXPECT_NE(r.exit_code, 0);
  const std::string msg = trim(r.output);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find("--dist-backend nccl"), std::string::npos) << msg;
  const auto bad = run_cli("train --out " + d / "run" + tiny_run(data, "cam") + " --dist-backend mpi 2>&1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--dist-backend"), std::string::npos) << bad.output;
}

TEST(Devices, GlooGroupNamedForOneRankRunsItsCollectives) {
  amr::WorldOptions o;
  o.backend = amr::Backend::Gloo;
  o.master_port = port();
  amr::World world(o);
  EXPECT_TRUE(world.distributed());
  EXPECT_EQ(world.backend(), amr::Backend::Gloo);
  at::Tensor t = torch::arange(5, torch::kFloat32);
  world.all_reduce_sum(t, "test");
  EXPECT_TRUE(torch::equal(t, torch::arange(5, torch::kFloat32)));
  EXPECT_FALSE(amr::World().distributed());  // Auto with one rank: no group
}

class GpuTrain : public Gpu, public ::testing::WithParamInterface<std::string> {};

TEST_P(GpuTrain, ThreeStepsOnTheGpuEndWithinOneThousandthOfTheCpu) {
  TempDir d;
  const std::string data = amr::test::small_scenes(d, 12);  // 3 batches of 4: one epoch = 3 steps
  const std::string args = tiny_run(data, GetParam());
  for (const std::string& device : {"cpu", "cuda"}) {
    const auto r = run_cli("train --out " + d / device + args + " --device " + device + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const double diff = max_parameter_difference(d / "cpu/model.pt", d / "cuda/model.pt");
  std::cout << GetParam() << ": max |parameter difference| cuda vs cpu after 3 steps: " << diff << "\n";
  EXPECT_LE(diff, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Variants, GpuTrain, ::testing::Values("cam", "amr"));

TEST_F(Gpu, CamsAndAdvCamMatchTheCpuAndBf16StaysClose) {
  TempDir d;
  const std::string data = amr::test::small_scenes(d, 12);
  ASSERT_EQ(run_cli("train --out " + d / "run" + tiny_run(data, "amr")).exit_code, 0);
  const std::vector<std::string> ids = read_ids(data + "/val.txt");
  ASSERT_FALSE(ids.empty());
  auto cams = [&](const std::string& out, const std::string& extra) {
    const auto r = run_cli("cam --run " + d / "run" + " --data " + data +
                       " --list val.txt --out " + d / out + " --threads 2 --quiet " + extra + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  cams("cpu", "");
  cams("cuda", "--device cuda");
  cams("cuda_bf16", "--device cuda --precision bf16");
  cams("adv_cpu", "--refine advcam --adv-iterations 3");
  cams("adv_cuda", "--refine advcam --adv-iterations 3 --device cuda");
  const double fp32 = max_cam_difference(d / "cpu", d / "cuda", ids);
  const double bf16 = max_cam_difference(d / "cuda", d / "cuda_bf16", ids);
  const double adv = max_cam_difference(d / "adv_cpu", d / "adv_cuda", ids);
  std::cout << "max |CAM difference|: cuda fp32 vs cpu " << fp32 << ", cuda bf16 vs fp32 " << bf16
            << ", AdvCAM cuda vs cpu " << adv << "\n";
  EXPECT_LE(fp32, 1e-4);
  EXPECT_LE(adv, 1e-3);
  EXPECT_LE(bf16, 0.1);  // normalized CAMs in [0, 1]; bf16 keeps 8 bits of mantissa
}

TEST_F(Gpu, OneRankNcclRunEqualsThePlainGpuRun) {
  TempDir d;
  const std::string data = amr::test::small_scenes(d, 12);
  const std::string args = tiny_run(data, "amr") + " --device cuda";
  auto r = run_cli("train --out " + d / "plain" + args + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train --out " + d / "nccl" + args + " --dist-backend nccl --world-size 1" +
          " --master-port " + std::to_string(port()) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double diff = max_parameter_difference(d / "plain/model.pt", d / "nccl/model.pt");
  std::cout << "1-rank NCCL vs plain GPU run: max |parameter difference| " << diff << "\n";
  EXPECT_LE(diff, 1e-5);
}
