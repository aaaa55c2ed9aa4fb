"""torchvision ResNet with a random state_dict (BN statistics included) and its layer4 output.

usage: make_resnet_reference.py ARCH OUT_DIR SIZE LAYER4_STRIDE FORMAT(zip|legacy)
Writes OUT_DIR/weights.pth (the state_dict, fc included) and OUT_DIR/io.pth (input, output).
"""
import sys

import torch
import torchvision

arch, out, size, l4_stride, fmt = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(1)  # the kernels the C++ test compares against at 1 thread
torch.manual_seed(1234)
m = getattr(torchvision.models, arch)()
if l4_stride == 1:  # output stride 16 as IRN/AMR: layer4 without its stride
    first = m.layer4[0]
    (first.conv2 if hasattr(first, "conv3") else first.conv1).stride = (1, 1)
    first.downsample[0].stride = (1, 1)
x = torch.randn(2, 3, size, size)
# Realistic activation statistics, as ImageNet weights have: random affine, running statistics
# calibrated on a batch (raw Kaiming init without them grows activations to the hundreds).
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
            mod.momentum = None  # cumulative average
    m.train()
    m(torch.randn(8, 3, size, size))
m.eval()


def features(net, inp):
    return net.layer4(net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(net.bn1(net.conv1(inp))))))))


with torch.no_grad():
    y = features(m, x)
    torch.save(m.state_dict(), out + "/weights.pth", _use_new_zipfile_serialization=(fmt == "zip"))
    y64 = features(m.double(), x.double())  # float64: free of float32 rounding noise
torch.save({"input": x, "output": y, "output64": y64}, out + "/io.pth")
