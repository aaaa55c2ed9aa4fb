#pragma once
#include <optional>
#include <string>

#include "amr/io/pth.h"
#include "amr/model/deeplab.h"

namespace amr {

// A segmentation model file: SegNet's state_dict (base.*) and the record amr_seg_model.json
// describing the network (arch, head, classes, output stride, rates, MSC scales, BN mode, input
// convention), so that `amr segment` rebuilds exactly what was trained.
std::string describe(const DeepLabOptions& opt);  // JSON text
DeepLabOptions parse_deeplab_description(const std::string& json, const std::string& what);  // throws naming `what`
void save_seg_model(const std::string& path, SegNetImpl& net);

// The reference's layouts under SegNet's names: MSC checkpoints (base.*), a bare DeepLabV2 /
// DeepLabV3Plus (layer1.*, aspp.*) and DataParallel's module. prefix.
NamedTensors deeplab_reference_keys(const NamedTensors& tensors);

// A torchvision ResNet-50/101 state_dict (conv1, bn1, layer1.0.conv1, ..., downsample.0/1; fc
// dropped; also under an amr model's spotlight. or IRN's resnet50. prefix) under the DeepLab
// backbone's names (base.layer1.conv1.conv, base.layer2.block1.reduce.conv, ...). torchvision's
// stride sits on the 3x3 convolution and the MSRA layout's on the first 1x1: the same tensors,
// a slightly different function (an initialization, as the usual ImageNet start of DeepLab).
NamedTensors torchvision_to_deeplab(const NamedTensors& tensors);

// What a file without a description holds, read from its tensors: arch (layer4's block count),
// head (aspp.stages.* = v3plus) and num_classes; the rest stays as in `fallback`.
DeepLabOptions infer_deeplab_options(const NamedTensors& base_keyed, const DeepLabOptions& fallback, const std::string& what);

// A segmentation model: amr's (described) or the reference's checkpoint (its layout detected,
// `fallback` for what its tensors do not say). Every tensor checked (strict); one line naming
// the file on any mismatch. num_classes_or_0 > 0 is checked against the model's.
SegNet load_seg_model(const std::string& path, const DeepLabOptions& fallback, int64_t num_classes_or_0 = 0);

// Initial weights for training: a torchvision/ImageNet ResNet (backbone only, the head keeps its
// initialization), the reference's DeepLab checkpoint or init model (the backbone always; the
// head too when its shapes match), or an amr segmentation model. Throws naming `what` when no
// backbone tensor matches or a backbone tensor is missing or mis-shaped.
void load_seg_init(SegNetImpl& net, const std::string& path, const std::string& what);

}  // namespace amr
