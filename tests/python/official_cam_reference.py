"""IRN-style multi-scale CAM of the official AMR `CAM` class (imported from the reference
checkout, weights from a state_dict file), fused with xi: the oracle for `amr cam`.

usage: official_cam_reference.py REFERENCE_DIR WEIGHTS.pth IMAGE.jpg KEYS(comma) SCALES(comma) XI OUT.npy
Resizing and decoding use OpenCV, as amr does (cubic up, area down, sizes rounded).
"""
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.model_zoo

ref, weights, image, keys, scales, xi, out = sys.argv[1:8]
sys.path.insert(0, ref)
torch.utils.model_zoo.load_url = lambda *a, **k: {}  # weights come from the file below
from net import resnet50_amr  # noqa: E402

keys = [int(k) for k in keys.split(",")]
scales = [float(s) for s in scales.split(",")]
xi = float(xi)
model = resnet50_amr.CAM()
model.load_state_dict(torch.load(weights), strict=True)
model.eval()  # QUIRKS.md 1: the AMM BatchNorm stays in training mode regardless

rgb = cv2.cvtColor(cv2.imread(image, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
H, W = rgb.shape[:2]
Hu, Wu = (H + 15) // 16 * 16, (W + 15) // 16 * 16
mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def branch(step):
    total = None
    for s in scales:
        if s == 1.0:
            img = rgb
        else:
            size = (max(1, int(np.floor(W * s + 0.5))), max(1, int(np.floor(H * s + 0.5))))
            img = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
        x = ((img.astype(np.float32) / 255.0 - mean) / std).astype(np.float32).transpose(2, 0, 1)
        x = torch.from_numpy(np.stack([x, x[:, :, ::-1].copy()]))
        with torch.no_grad():
            cam = F.relu(model(x, step=step))
        cam = cam[0] + cam[1].flip(-1)
        cam = cam[keys].unsqueeze(1)
        cam = F.interpolate(cam, (Hu, Wu), mode="bilinear", align_corners=False)[:, 0, :H, :W]
        total = cam if total is None else total + cam
    return total / (F.adaptive_max_pool2d(total, (1, 1)) + 1e-5)


fused = xi * branch(1) + (1 - xi) * branch(2)
np.save(out, fused.numpy().astype(np.float32))
