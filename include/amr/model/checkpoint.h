#pragma once
#include <ATen/core/Tensor.h>

#include <torch/nn/modules/container/sequential.h>

namespace amr {

// Activation checkpointing (`memory: checkpoint`): each block of `layer` (a Sequential of
// amr::Block) runs without keeping its internal activations; backward recomputes them from the
// block's input. Values and gradients are those of layer->forward(x); BatchNorm running
// statistics are updated once, as without checkpointing. Costs one more forward of the blocks.
at::Tensor checkpointed_layer(torch::nn::Sequential& layer, const at::Tensor& x);

}  // namespace amr
