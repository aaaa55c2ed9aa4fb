"""IRN-style multi-scale CAM of the official AMR `CAM` class (imported from the reference
checkout, weights from a state_dict file), fused with xi: the oracle for `amr cam`.

usage: official_cam_reference.py REFERENCE_DIR WEIGHTS.pth IMAGE.jpg KEYS(comma) SCALES(comma) XI OUT.npy
Resizing and decoding use OpenCV, as amr does (cubic up, area down, sizes rounded).
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.model_zoo

ref, weights, image, keys, scales, xi, out = sys.argv[1:8]
sys.path.insert(0, ref)
torch.utils.model_zoo.load_url = lambda *a, **k: {}  # weights come from the file below
from net import resnet50_amr  # noqa: E402
from scaled_pair import read_rgb, scaled_pair  # noqa: E402

keys = [int(k) for k in keys.split(",")]
scales = [float(s) for s in scales.split(",")]
xi = float(xi)
model = resnet50_amr.CAM()
model.load_state_dict(torch.load(weights), strict=True)
model.eval()  # QUIRKS.md 1: the AMM BatchNorm stays in training mode regardless

rgb = read_rgb(image)
H, W = rgb.shape[:2]
Hu, Wu = (H + 15) // 16 * 16, (W + 15) // 16 * 16


strided_size = ((H + 3) // 4, (W + 3) // 4)  # imutils.get_strided_size(size, 4)


def branch(step):
    total, strided = None, None
    for s in scales:
        x = torch.from_numpy(scaled_pair(rgb, s))
        with torch.no_grad():
            cam = F.relu(model(x, step=step))
        cam = cam[0] + cam[1].flip(-1)
        st = F.interpolate(cam.unsqueeze(0), strided_size, mode="bilinear", align_corners=False)[0][keys]
        strided = st if strided is None else strided + st
        cam = cam[keys].unsqueeze(1)
        cam = F.interpolate(cam, (Hu, Wu), mode="bilinear", align_corners=False)[:, 0, :H, :W]
        total = cam if total is None else total + cam
    return (total / (F.adaptive_max_pool2d(total, (1, 1)) + 1e-5),
            strided / (F.adaptive_max_pool2d(strided, (1, 1)) + 1e-5))


(high_s, strided_s), (high_c, strided_c) = branch(1), branch(2)
np.save(out, (xi * high_s + (1 - xi) * high_c).numpy().astype(np.float32))
# make_cam.py's "cam" key: the strided CAM (interpolated from the feature map to ceil(H/4) x ceil(W/4)).
np.save(out[:-4] + ".stride4.npy", (xi * strided_s + (1 - xi) * strided_c).numpy().astype(np.float32))
