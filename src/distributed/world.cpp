#include "amr/distributed/world.h"

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // Debian's and the pip wheels' LibTorch are built with Gloo
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/torch_compat.h"
#include "amr/distributed/nccl_group.h"

namespace amr {

namespace {

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// A whole decimal integer from an environment variable or a default.
int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  try {
    size_t used = 0;
    const long x = std::stol(v, &used);
    if (used == std::string(v).size() && x >= lo && x <= hi) return static_cast<int>(x);
  } catch (const std::exception&) {
  }
  throw Error(std::string("environment ") + name + "=" + v + ": expected an integer in [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "]");
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

constexpr EnumNames<Backend, 3> kBackends{{{Backend::Auto, "auto"}, {Backend::Gloo, "gloo"}, {Backend::Nccl, "nccl"}}};

}  // namespace

Backend parse_backend(const std::string& s) { return parse_enum(kBackends, s, "--dist-backend"); }

WorldOptions resolve_world(const WorldFlags& given) {
  WorldOptions o;
  o.world_size = given.world_size ? *given.world_size : env_int("WORLD_SIZE", 1, 1, 1 << 16);
  o.rank = given.rank ? *given.rank : env_int("RANK", 0, 0, 1 << 16);
  o.local_rank = given.local_rank ? *given.local_rank : env_int("LOCAL_RANK", 0, 0, 1 << 16);
  if (given.master_addr) {
    o.master_addr = *given.master_addr;
  } else {
    const char* a = std::getenv("MASTER_ADDR");
    o.master_addr = a && *a ? a : "127.0.0.1";
  }
  o.master_port = given.master_port ? *given.master_port : env_int("MASTER_PORT", 29500, 1, 65535);
  o.timeout_s = given.timeout_s;
  o.backend = given.backend;
  if (o.world_size < 1) throw Error("--world-size: expected at least 1, got " + std::to_string(o.world_size));
  if (o.rank >= o.world_size)
    throw Error("--rank " + std::to_string(o.rank) + ": expected 0 <= rank < world size " + std::to_string(o.world_size));
  if (o.master_port > 65535) throw Error("--master-port: expected 1..65535, got " + std::to_string(o.master_port));
  if (!(o.timeout_s > 0) || o.timeout_s > 86400)
    throw Error("--dist-timeout: expected seconds in (0, 86400], got " + std::to_string(o.timeout_s));
  return o;
}

int local_world_size() { return env_int("LOCAL_WORLD_SIZE", 1, 1, 1 << 16); }

struct World::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::ProcessGroupBase> pg;
};

World::World() = default;
World::~World() {
  if (group_) compat::shutdown_group(group_->pg);
}

World::World(const WorldOptions& opt, c10::Device device)
    : rank_(opt.rank),
      size_(opt.world_size),
      local_rank_(opt.local_rank),
      timeout_s_(opt.timeout_s),
      backend_(opt.backend),
      device_(device) {
  if (backend_ == Backend::Auto) {
    if (size_ == 1) return;
    backend_ = device.is_cuda() ? Backend::Nccl : Backend::Gloo;
  }
  if (backend_ == Backend::Nccl && !device.is_cuda())
    throw Error("--dist-backend nccl: reduces GPU tensors; add --device cuda, or use gloo on the CPU");
  connect(opt);
}

void World::connect(const WorldOptions& opt) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(opt.timeout_s * 1000));
  const std::string where = opt.master_addr + ":" + std::to_string(opt.master_port);
  group_ = std::make_unique<Group>();
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(opt.master_port);
    so.isServer = rank_ == 0;
    so.numWorkers = static_cast<size_t>(size_);
    so.waitWorkers = true;
    so.timeout = timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(opt.master_addr, so);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(rank_) + ": rendezvous at " + where + " failed within " +
                std::to_string(static_cast<int>(opt.timeout_s)) + " s (" + first_line(e.what()) + ")");
  }
  if (backend_ == Backend::Nccl) {
    try {
      group_->pg = make_nccl_group(group_->store, rank_, size_, timeout, device_.index());
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(rank_) + ": connecting the NCCL process group of " + std::to_string(size_) +
                  " ranks via " + where + " failed (" + first_line(e.what()) + ")");
    }
    return;
  }
  try {
    auto o = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname)
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(opt.master_addr))
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, rank_, size_, o);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(rank_) + ": connecting the Gloo process group of " + std::to_string(size_) +
                " ranks via " + where + " failed (" + first_line(e.what()) + ")");
  }
}

namespace {

[[noreturn]] void lost(int rank, double timeout_s, const std::string& what, const std::exception& e) {
  std::ostringstream o;
  o << "rank " << rank << ": " << what << " failed: another rank died or did not answer within " << timeout_s << " s ("
    << first_line(e.what()) << ")";
  throw Error(o.str());
}

}  // namespace

namespace {

// One collective per tensor, all in flight at once, then waited for. With `stage_on` set
// (NCCL), tensors elsewhere take part through copies on that device, copied back after.
template <typename Start>
void each_in_flight(std::vector<at::Tensor>& tensors, const c10::optional<c10::Device>& stage_on, Start start) {
  std::vector<at::Tensor> work = tensors;
  if (stage_on)
    for (auto& t : work)
      if (t.device() != *stage_on) t = t.to(*stage_on);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : work) {
    std::vector<at::Tensor> one{t};
    works.push_back(start(one));
  }
  for (auto& w : works) w->wait();
  for (size_t i = 0; i < work.size(); ++i)
    if (!work[i].is_same(tensors[i])) tensors[i].copy_(work[i]);
}

}  // namespace

c10::optional<c10::Device> World::staging() const {
  if (backend_ == Backend::Nccl) return device_;
  return c10::nullopt;
}

void World::all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) const {
  if (!group_) return;
  try {
    each_in_flight(tensors, staging(), [this](std::vector<at::Tensor>& one) { return group_->pg->allreduce(one); });
  } catch (const std::exception& e) {
    lost(rank_, timeout_s_, what, e);
  }
}

void World::all_reduce_sum(at::Tensor& tensor, const std::string& what) const {
  std::vector<at::Tensor> one{tensor};
  all_reduce_sum(one, what);
}

void World::broadcast(std::vector<at::Tensor>& tensors, const std::string& what) const {
  if (!group_) return;
  try {
    each_in_flight(tensors, staging(), [this](std::vector<at::Tensor>& one) { return group_->pg->broadcast(one); });
  } catch (const std::exception& e) {
    lost(rank_, timeout_s_, what, e);
  }
}

void World::barrier(const std::string& what) const {
  if (!group_) return;
  try {
    group_->pg->barrier()->wait();
  } catch (const std::exception& e) {
    lost(rank_, timeout_s_, what, e);
  }
}

void World::agree(const std::string& key, const std::string& value, const std::string& what) const {
  if (!group_) return;
  std::string theirs;
  try {
    if (is_root()) {
      group_->store->set("amr/" + key, std::vector<uint8_t>(value.begin(), value.end()));
      return;
    }
    const std::vector<uint8_t> v = group_->store->get("amr/" + key);
    theirs.assign(v.begin(), v.end());
  } catch (const std::exception& e) {
    lost(rank_, timeout_s_, "agreeing on " + what, e);
  }
  if (theirs == value) return;
  std::istringstream a(theirs), b(value);
  std::string la, lb;
  while (std::getline(a, la) && std::getline(b, lb) && la == lb) {
  }
  throw Error("rank " + std::to_string(rank_) + ": " + what + " differs from rank 0's: '" + lb + "' here, '" + la +
              "' on rank 0");
}

}  // namespace amr
