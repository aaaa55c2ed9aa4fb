"""Stand-in ImageNet weights for the official code's constructors (no download here)."""
import torch
import torchvision


def stand_in_resnet50():
    """torchvision ResNet-50 at output stride 16 with random BN affine and running statistics
    calibrated on a batch, so that activations keep a realistic scale (no denormals). Draws from
    torch's global generator: seed it first."""
    tv = torchvision.models.resnet50()
    tv.layer4[0].conv2.stride = (1, 1)
    tv.layer4[0].downsample[0].stride = (1, 1)
    with torch.no_grad():
        for mod in tv.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.momentum = None
        tv.train()
        tv(torch.randn(8, 3, 96, 96))
    return tv.state_dict()
