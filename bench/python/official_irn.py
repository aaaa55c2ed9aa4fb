"""The official IRN code timed on CPU (python3-torch), for bench/irn.sh.

usage: official_irn.py walk REFERENCE_DIR OUT_DIR H W   -> OUT_DIR/walk_in.pth (edge, cams), walk_out.pth (rw);
                                                           prints {"seconds", "peak_mb"} of propagate_to_edge
       official_irn.py step REFERENCE_DIR OUT_DIR STEPS -> OUT_DIR/irn_weights.pth, irn_batch.pth; prints
                                                           {"seconds_per_step"} of train_irn.py's step
                                                           (crop 512, batch 4), steps 2..STEPS averaged
peak_mb: the growth of the process's peak RSS over its RSS before the call (VmHWM reset first).
"""
import json
import sys
import time
import types

import numpy as np
import torch
import torch.utils.model_zoo
import torchvision

mode, ref, out = sys.argv[1], sys.argv[2], sys.argv[3]
torch.set_num_threads(2)
torch.Tensor.cuda = lambda self, *a, **kw: self
sys.path.insert(0, ref)
for name in ["imageio", "pydensecrf", "pydensecrf.densecrf", "pydensecrf.utils"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["pydensecrf.utils"].unary_from_labels = None


def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


if mode == "walk":
    from misc import indexing  # noqa: E402
    H, W = int(sys.argv[4]), int(sys.argv[5])
    h, w = (H + 3) // 4, (W + 3) // 4
    torch.manual_seed(3)
    edge = torch.sigmoid(torch.nn.functional.interpolate(torch.randn(1, 1, h // 6 + 1, w // 6 + 1) * 3, size=(h, w), mode="bilinear", align_corners=False)[0, 0] - 2)
    edge[h // 2, :] = 0.95
    cams = torch.rand(2, h, w) ** 2
    torch.save({"edge": edge, "cams": cams}, out + "/walk_in.pth")
    base = rss_kb("VmRSS")
    reset_peak()
    t = time.time()
    rw = indexing.propagate_to_edge(cams ** 1.5, edge, beta=10, exp_times=8, radius=5)[:, 0]
    seconds = time.time() - t
    peak = rss_kb("VmHWM")
    torch.save({"rw": rw}, out + "/walk_out.pth")
    print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024}))
elif mode == "step":
    from misc import indexing, torchutils  # noqa: E402
    steps = int(sys.argv[4])
    tv = torchvision.models.resnet50()
    tv.layer4[0].conv2.stride = (1, 1)
    tv.layer4[0].downsample[0].stride = (1, 1)
    torch.manual_seed(5)
    with torch.no_grad():  # realistic activations: BN statistics calibrated on a batch
        for mod in tv.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.momentum = None
        tv.train()
        tv(torch.randn(4, 3, 128, 128))
    imagenet = tv.state_dict()
    torch.utils.model_zoo.load_url = lambda *a, **k: imagenet
    from net import resnet50_irn  # noqa: E402
    crop = 512
    path_index = indexing.PathIndex(radius=10, default_size=(crop // 4, crop // 4))
    model = resnet50_irn.AffinityDisplacementLoss(path_index)
    torch.save(model.state_dict(), out + "/irn_weights.pth")
    images = torch.randn(4, 3, crop, crop)
    label = torch.zeros(4, crop // 4, crop // 4, dtype=torch.uint8)
    label[:, 20:90, 30:100] = 3
    label[:, 60:, :40] = 7
    label[:, 85:95, :] = 255
    torch.save({"images": images, "label": label}, out + "/irn_batch.pth")
    lab = label.numpy().reshape(4, -1)
    src, dst = path_index.src_indices, path_index.dst_indices
    f, t_ = lab[:, src][:, None, :], lab[:, dst.reshape(-1)].reshape(4, dst.shape[0], -1)
    valid = (f < 21) & (t_ < 21)
    pos = (f == t_) & valid
    bg_pos = torch.from_numpy((pos & (f == 0)).astype(np.float32))
    fg_pos = torch.from_numpy((pos & (f > 0)).astype(np.float32))
    neg = torch.from_numpy(((f != t_) & valid).astype(np.float32))
    pg = model.trainable_parameters()
    optimizer = torchutils.PolyOptimizer([{'params': pg[0], 'lr': 0.1, 'weight_decay': 1e-4},
                                          {'params': pg[1], 'lr': 1.0, 'weight_decay': 1e-4}], lr=0.1, weight_decay=1e-4, max_step=100)
    model.train()
    times = []
    for s in range(steps):
        t = time.time()
        pos_aff_loss, neg_aff_loss, dp_fg_loss, dp_bg_loss = model(images, True)
        bg = torch.sum(bg_pos * pos_aff_loss) / (torch.sum(bg_pos) + 1e-5)
        fg = torch.sum(fg_pos * pos_aff_loss) / (torch.sum(fg_pos) + 1e-5)
        pos_aff_loss = bg / 2 + fg / 2
        neg_aff_loss = torch.sum(neg * neg_aff_loss) / (torch.sum(neg) + 1e-5)
        dp_fg_loss = torch.sum(dp_fg_loss * torch.unsqueeze(fg_pos, 1)) / (2 * torch.sum(fg_pos) + 1e-5)
        dp_bg_loss = torch.sum(dp_bg_loss * torch.unsqueeze(bg_pos, 1)) / (2 * torch.sum(bg_pos) + 1e-5)
        total = (pos_aff_loss + neg_aff_loss) / 2 + (dp_fg_loss + dp_bg_loss) / 2
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        times.append(time.time() - t)
    print(json.dumps({"seconds_per_step": sum(times[1:]) / max(1, len(times) - 1), "loss": total.item()}))
