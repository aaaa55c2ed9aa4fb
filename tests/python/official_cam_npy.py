"""Writes a CAM file as the official make_cam.py does: np.save(OUT, {"keys": torch tensor,
"cam": torch tensor [K, ceil(H/4), ceil(W/4)], "high_res": float32 array [K, H, W]}), the
values of a fixed seed. usage: official_cam_npy.py OUT H W KEYS (e.g. 3,14)"""
import sys

import numpy as np
import torch

out, h, w, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(k) for k in sys.argv[4].split(",")]
torch.manual_seed(len(keys) * 1000 + h)
cam = torch.rand(len(keys), (h + 3) // 4, (w + 3) // 4)
high_res = torch.rand(len(keys), h, w).numpy()
np.save(out, {"keys": torch.tensor(keys), "cam": cam, "high_res": high_res})
torch.save({"cam": cam, "high_res": torch.from_numpy(high_res)}, out + ".pth")
