"""IRN train_cam layout (resnet50.* + classifier.weight) around a torchvision ResNet-18."""
import sys

import torch
import torchvision

torch.manual_seed(2)
sd = {"resnet50." + k: v for k, v in torchvision.models.resnet18().state_dict().items() if not k.startswith("fc.")}
sd["classifier.weight"] = torch.randn(20, 512, 1, 1)
torch.save(sd, sys.argv[1])
