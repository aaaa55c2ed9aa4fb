#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace amr {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Reads a PyTorch checkpoint written by torch.save, natively (no Python): the zip format
// (torch.save's default since 1.6) and the legacy pickle format (_use_new_zipfile_serialization
// =False; IRN/AMR's resnet50-19c8e357.pth). The object must be a (possibly Ordered) dict of
// name -> tensor, or a dict holding one under "state_dict" or "model". Order is preserved.
NamedTensors read_pth(const std::string& path);

// Named text records stored in the zip beside the tensors (e.g. the model description);
// torch.load ignores them. Names start with "amr_".
using PthRecords = std::map<std::string, std::string>;

struct PthContents {
  NamedTensors tensors;
  PthRecords records;  // empty for legacy files and files written without records
};
PthContents read_pth_contents(const std::string& path);

// The one storage of a legacy torch.save stream (what a plainly pickled tensor carries:
// torch.storage._load_from_bytes), as a 1-D tensor of its dtype. Throws naming `what`.
at::Tensor read_legacy_storage(const std::vector<char>& bytes, const std::string& what);
// storage.as_strided(size, stride, offset) copied contiguous, after checking that it stays
// inside the storage (negative or overflowing values refused). Throws naming `what`.
at::Tensor checked_view(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                        const std::string& what);

// Writes name -> tensor as a zip-format file that Python's torch.load reads as a dict, plus
// `records`. Written atomically.
void write_pth(const std::string& path, const NamedTensors& tensors, const PthRecords& records = {});

}  // namespace amr
