"""torchvision ResNet with a random state_dict (BN statistics included) and its layer4 output.

usage: make_resnet_reference.py ARCH OUT_DIR SIZE LAYER4_STRIDE FORMAT(zip|legacy)
Writes OUT_DIR/weights.pth (the state_dict, fc included) and OUT_DIR/io.pth (input, output).
"""
import sys

import torch
import torchvision

arch, out, size, l4_stride, fmt = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(1234)
m = getattr(torchvision.models, arch)()
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
if l4_stride == 1:  # output stride 16 as IRN/AMR: layer4 without its stride
    first = m.layer4[0]
    (first.conv2 if hasattr(first, "conv3") else first.conv1).stride = (1, 1)
    first.downsample[0].stride = (1, 1)
m.eval()
x = torch.randn(2, 3, size, size)
with torch.no_grad():
    y = m.layer4(m.layer3(m.layer2(m.layer1(m.maxpool(m.relu(m.bn1(m.conv1(x))))))))
torch.save(m.state_dict(), out + "/weights.pth", _use_new_zipfile_serialization=(fmt == "zip"))
torch.save({"input": x, "output": y}, out + "/io.pth")
