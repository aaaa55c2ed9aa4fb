#include "amr/model/checkpoint.h"

#include <torch/torch.h>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/model/resnet.h"

namespace amr {

namespace {
constexpr EnumNames<MemoryMode, 2> kMemoryModes{{{MemoryMode::Store, "store"}, {MemoryMode::Checkpoint, "checkpoint"}}};
}
MemoryMode parse_memory_mode(const std::string& s) { return parse_enum(kMemoryModes, s, "memory"); }
std::string to_string(MemoryMode m) { return enum_name(kMemoryModes, m); }

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<at::Tensor> trainable_parameters(BlockImpl& block) {
  std::vector<at::Tensor> ps;
  for (auto& p : block.parameters())
    if (p.requires_grad()) ps.push_back(p);
  return ps;
}

// The block as one autograd node that saves only its input.
struct BlockCheckpoint : torch::autograd::Function<BlockCheckpoint> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, BlockImpl* block, at::TensorList params) {
    ctx->saved_data["block"] = reinterpret_cast<int64_t>(block);
    ctx->saved_data["x_requires_grad"] = x.requires_grad();
    ctx->saved_data["params"] = static_cast<int64_t>(params.size());
    ctx->save_for_backward({x});
    return block->forward(x);  // grad mode is off inside a custom Function's forward
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto* block = reinterpret_cast<BlockImpl*>(ctx->saved_data["block"].toInt());
    const bool x_grad = ctx->saved_data["x_requires_grad"].toBool();
    const at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(x_grad);
    std::vector<at::Tensor> params = trainable_parameters(*block);
    if (static_cast<int64_t>(params.size()) != ctx->saved_data["params"].toInt())
      throw Error("memory: checkpoint: the block's trainable parameters changed between forward and backward");
    // The recomputation must not update the running statistics a second time.
    std::vector<at::Tensor> buffers = block->buffers(), saved;
    for (const auto& b : buffers) saved.push_back(b.clone());
    at::Tensor y;
    {
      torch::AutoGradMode enable(true);
      y = block->forward(x);
    }
    std::vector<at::Tensor> inputs;
    if (x_grad) inputs.push_back(x);
    inputs.insert(inputs.end(), params.begin(), params.end());
    variable_list grads = torch::autograd::grad({y}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
    {  // after the gradient: batch_norm's backward holds the running statistics it was given
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved[i]);
    }
    // One gradient per forward argument: x, the block pointer (none), each parameter.
    variable_list result{x_grad ? grads[0] : at::Tensor(), at::Tensor()};
    result.insert(result.end(), grads.begin() + (x_grad ? 1 : 0), grads.end());
    return result;
  }
};

}  // namespace

at::Tensor checkpointed_layer(torch::nn::Sequential& layer, const at::Tensor& x) {
  at::Tensor y = x;
  for (auto& child : layer->children()) {
    auto block = std::dynamic_pointer_cast<BlockImpl>(child);
    if (!block) throw Error("memory: checkpoint: expected a layer of ResNet blocks");
    std::vector<at::Tensor> params = trainable_parameters(*block);
    if (!torch::GradMode::is_enabled() || (params.empty() && !y.requires_grad()))
      y = block->forward(y);  // nothing to differentiate: nothing to save either
    else
      y = BlockCheckpoint::apply(y, block.get(), at::TensorList(params));
  }
  return y;
}

}  // namespace amr
