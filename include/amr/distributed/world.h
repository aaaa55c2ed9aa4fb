#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace amr {

// Which c10d process group carries the collectives. Auto: none for a single process, else Gloo
// on the CPU and NCCL on CUDA. Naming one makes a group even for a single process (a smoke test
// of the backend).
enum class Backend { Auto, Gloo, Nccl };
Backend parse_backend(const std::string& s);  // auto | gloo | nccl; throws naming --dist-backend

// Where this process stands in a data-parallel job. Flags win; absent flags are read from
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT).
struct WorldOptions {
  int world_size = 1, rank = 0, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_s = 300;  // rendezvous and every collective: a dead or stuck rank is an error after this
  Backend backend = Backend::Auto;
};
// What the flags said; unset: torchrun's environment, then WorldOptions' defaults.
struct WorldFlags {
  std::optional<int> world_size, rank, local_rank, master_port;
  std::optional<std::string> master_addr;
  double timeout_s = 300;
  Backend backend = Backend::Auto;
};
// Throws naming the flag or variable on a bad value.
WorldOptions resolve_world(const WorldFlags& given);
// Ranks on this machine (torchrun's LOCAL_WORLD_SIZE; 1 when unset): they share its cores.
int local_world_size();

// The process group of a data-parallel job: PyTorch's c10d (TCPStore rendezvous at
// master_addr:master_port, served by rank 0; ProcessGroupGloo, or ProcessGroupNCCL on this
// rank's GPU `device`). With world_size 1 and Backend::Auto there is no group and every
// collective returns at once. Under NCCL, CPU tensors pass through the GPU (copied there and
// back). A failed collective (a rank died, or did not answer within the timeout) throws
// amr::Error naming this rank: never a hang.
class World {
 public:
  World();  // a single process
  explicit World(const WorldOptions& opt, c10::Device device = c10::Device(c10::kCPU));
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  bool is_root() const { return rank_ == 0; }
  bool distributed() const { return group_ != nullptr; }  // collectives go through a process group
  Backend backend() const { return backend_; }  // the one in use (Auto: no group)

  // In place, element-wise sum over the ranks (one collective per tensor, all in flight at once).
  void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) const;
  void all_reduce_sum(at::Tensor& tensor, const std::string& what) const;
  // In place: every rank receives rank 0's values.
  void broadcast(std::vector<at::Tensor>& tensors, const std::string& what) const;
  void barrier(const std::string& what) const;
  // Rank 0 publishes `value` under `key`; the others compare theirs and throw naming `what`
  // and the first line that differs (e.g. configs resolved differently on two machines).
  void agree(const std::string& key, const std::string& value, const std::string& what) const;

 private:
  struct Group;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_s_ = 0;
  Backend backend_ = Backend::Auto;
  c10::Device device_ = c10::Device(c10::kCPU);
  std::unique_ptr<Group> group_;
  void connect(const WorldOptions& opt);
  c10::optional<c10::Device> staging() const;  // where collectives need their tensors (NCCL: the GPU)
};

}  // namespace amr
