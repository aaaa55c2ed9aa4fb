"""The reference DeepLab's inference speed (kazuto1011/deeplab-pytorch, libs/models), for
bench/segmentation.sh.

usage: deeplab_speed.py DEEPLAB_DIR OUT_DIR PHOTOS_DIR THREADS

Writes OUT_DIR/deeplab_v2_r101.pth: DeepLabV2_ResNet101_MSC for 21 classes (random weights,
BatchNorm statistics calibrated on a photo: no denormals), the file amr segment then reads as is.
Times, on each photo of PHOTOS_DIR (BGR minus the reference's mean, as its test): the base network
(single scale) and the MSC model in eval mode on the image and its mirror, fused by max (what
amr segment --flip computes). Prints one JSON line: seconds per image of each, steady state (the
first photo excluded).
"""
import glob
import importlib
import json
import sys
import time
import types

import cv2
import numpy as np
import torch
import torch.nn as nn

ref, out, photos, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)
for pkg, path in [("libs", ref + "/libs"), ("libs.models", ref + "/libs/models")]:
    m = types.ModuleType(pkg)
    m.__path__ = [path]
    sys.modules[pkg] = m
deeplabv2 = importlib.import_module("libs.models.deeplabv2")
msc = importlib.import_module("libs.models.msc")

MEAN_BGR = np.array([104.008, 116.669, 122.675], dtype=np.float32)


def load(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR).astype(np.float32) - MEAN_BGR
    return torch.from_numpy(image.transpose(2, 0, 1).copy())[None]


files = sorted(glob.glob(photos + "/*.jpg"))
images = [load(f) for f in files]
model = msc.MSC(base=deeplabv2.DeepLabV2(n_classes=21, n_blocks=[3, 4, 23, 3], atrous_rates=[6, 12, 18, 24]), scales=[0.5, 0.75])
for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.reset_running_stats()
        m.momentum = None
model.train()
with torch.no_grad():
    model.base(images[0])
model.eval()
torch.save(model.state_dict(), out + "/deeplab_v2_r101.pth")


def timed(fn):
    seconds = []
    with torch.no_grad():
        for x in images:
            t = time.perf_counter()
            fn(x)
            seconds.append(time.perf_counter() - t)
    return sum(seconds[1:]) / len(seconds[1:])


single = timed(lambda x: model.base(x))
msc_flip = timed(lambda x: torch.max(model(x), model(x.flip(3)).flip(3)))
print(json.dumps({"single_scale": single, "msc_flip": msc_flip, "images": len(images), "torch": torch.__version__, "threads": threads}))
