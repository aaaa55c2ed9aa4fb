"""Random-walk and path-index oracle: the official misc/indexing.py on CPU.

usage: irn_walk_reference.py REFERENCE_DIR OUT_DIR H W K BETA EXP_TIMES

Writes OUT_DIR/paths.pth (PathIndex(radius 10, (40, 36)) and PathIndex(radius 5, (21, 30)):
src, dst and each length group) and OUT_DIR/walk.pth (edge [H, W], cams [K, H, W], rw [K, H, W]
from propagate_to_edge, in float32 and float64).
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

ref, out, h, w, k, beta, exp_times = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
torch.set_num_threads(1)
torch.Tensor.cuda = lambda self, *a, **kw: self  # no GPU: the official code calls .cuda()
sys.path.insert(0, ref)
from misc import indexing  # noqa: E402

paths = {}
for name, radius, size in (("r10", 10, (40, 36)), ("r5", 5, (21, 30))):
    pi = indexing.PathIndex(radius=radius, default_size=size)
    paths[name + "_src"] = torch.from_numpy(pi.src_indices)
    paths[name + "_dst"] = torch.from_numpy(pi.dst_indices)
    for i, p in enumerate(pi.path_indices):
        paths["%s_len%d" % (name, i)] = torch.from_numpy(p)
    paths[name + "_search_dst"] = torch.from_numpy(pi.search_dst)
torch.save(paths, out + "/paths.pth")

torch.manual_seed(4)
# A boundary map with structure: smooth noise plus two bright lines, as a trained edge branch gives.
edge = torch.sigmoid(torch.nn.functional.interpolate(torch.randn(1, 1, h // 3 + 1, w // 3 + 1) * 3, size=(h, w), mode="bilinear", align_corners=False)[0, 0] - 2)
edge[h // 2, :] = 0.95
edge[:, w // 3] = torch.maximum(edge[:, w // 3], torch.tensor(0.8))
cams = torch.rand(k, h, w) ** 2
rw = indexing.propagate_to_edge(cams.clone(), edge.clone(), radius=5, beta=beta, exp_times=exp_times)[:, 0]
rw64 = indexing.propagate_to_edge(cams.double(), edge.double(), radius=5, beta=beta, exp_times=exp_times)[:, 0]
torch.save({"edge": edge, "cams": cams, "rw": rw, "rw64": rw64}, out + "/walk.pth")

# make_sem_seg_labels' steps after the boundary map (its _work, transcribed: the loop body
# needs the data loader), for an image of 4h-2 x 4w-1 pixels with classes 4 and 11.
orig_h, orig_w = 4 * h - 2, 4 * w - 1
keys = np.pad(np.array([4, 11][:k]) + 1, (1, 0), mode="constant")
cams_p = cams ** 1.5
rw = indexing.propagate_to_edge(cams_p, edge, beta=beta, exp_times=exp_times, radius=5)
rw_up = F.interpolate(rw, scale_factor=4, mode="bilinear", align_corners=False)[..., 0, :orig_h, :orig_w]
rw_up = rw_up / torch.max(rw_up)
rw_up_bg = F.pad(rw_up, (0, 0, 0, 0, 1, 0), value=0.25)
rw_pred = keys[torch.argmax(rw_up_bg, dim=0).cpu().numpy()]
torch.save({"mask": torch.from_numpy(rw_pred.astype(np.uint8))}, out + "/mask.pth")
