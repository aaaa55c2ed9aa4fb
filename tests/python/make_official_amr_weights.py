"""State_dict of the official AMR `Net` (imported from the reference checkout) with random
ImageNet-like backbone weights: model_zoo.load_url is replaced, since there is no network.

usage: make_official_amr_weights.py REFERENCE_DIR OUT_FILE [legacy]
"""
import sys

import torch
import torch.utils.model_zoo
import torchvision

sys.path.insert(0, sys.argv[1])
torch.manual_seed(5)
fake = torchvision.models.resnet50().state_dict()
torch.utils.model_zoo.load_url = lambda *a, **k: fake
from net import resnet50_amr  # noqa: E402

net = resnet50_amr.Net()
torch.save(net.state_dict(), sys.argv[2], _use_new_zipfile_serialization=(len(sys.argv) < 4))
