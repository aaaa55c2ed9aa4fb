"""Training-step oracle: the official `train_cam` / `train_amr` step (their Net, their
PolyOptimizer, their parameter groups and loss), on CPU, on a fixed batch.

usage: official_train_step.py REFERENCE_DIR MODE(cam|amr) OUT_DIR STEPS LR MAX_STEP

Writes to OUT_DIR:
  imagenet.pth   the stand-in "ImageNet" ResNet-50 (torchvision names; random weights, BN
                 statistics calibrated on a batch) that their constructors load
  cam.pth        (amr) the CAM checkpoint train_amr loads with strict=False
  init.pth       the Net's state_dict right before the first step
  batch.pth      {"images": [2, 3, 96, 96], "labels": [2, 20]}
  step_<s>.pth   the state_dict after s steps (s = 1 .. STEPS)
  buf_<s>.pth    the state_dict's layout holding each parameter's momentum buffer (NaN where
                 the optimizer holds none)
  loss.pth       per-step loss terms: cls1, cls2, cps, total (cls2/cps only for amr)
The loop body is transcribed from step/train_cam.py and step/train_amr.py (DataParallel and
.cuda() dropped: no GPU).
"""
import sys

import torch
import torch.nn.functional as F
import torch.utils.model_zoo

from stand_in_imagenet import stand_in_resnet50

ref, mode, out, steps, lr, max_step = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
wd = 1e-4  # run_sample.py: cam_weight_decay
torch.set_num_threads(1)  # the kernels the C++ test runs at 1 thread
torch.manual_seed(11)

imagenet = stand_in_resnet50()
torch.save(imagenet, out + "/imagenet.pth")
torch.utils.model_zoo.load_url = lambda *a, **k: imagenet

sys.path.insert(0, ref)
from misc import torchutils  # noqa: E402
from net import resnet50_amr, resnet50_cam  # noqa: E402

images = torch.randn(2, 3, 96, 96)
labels = torch.zeros(2, 20)
labels[0, 3] = labels[0, 14] = labels[1, 7] = 1
torch.save({"images": images, "labels": labels}, out + "/batch.pth")

if mode == "cam":
    model = resnet50_cam.Net()
    param_groups = model.trainable_parameters()
    optimizer = torchutils.PolyOptimizer([
        {'params': param_groups[0], 'lr': lr, 'weight_decay': wd},
        {'params': param_groups[1], 'lr': 10 * lr, 'weight_decay': wd},
    ], lr=lr, weight_decay=wd, max_step=max_step)
else:
    # The CAM checkpoint: the stand-in ImageNet moved a little, as CAM training would.
    cam = resnet50_cam.Net()
    with torch.no_grad():
        for p in cam.parameters():
            p.add_(0.01 * torch.randn_like(p) * p.abs().mean())
    torch.save(cam.state_dict(), out + "/cam.pth")
    model = resnet50_amr.Net()
    model.load_state_dict(torch.load(out + "/cam.pth"), strict=False)
    param_groups = model.trainable_parameters()
    optimizer = torchutils.PolyOptimizer([
        {'params': param_groups[0], 'lr': lr, 'weight_decay': wd},
        {'params': param_groups[1], 'lr': 10 * lr, 'weight_decay': wd},
        {'params': param_groups[2], 'lr': lr, 'weight_decay': wd},
    ], lr=lr, weight_decay=wd, max_step=max_step)

model.train()
torch.save(model.state_dict(), out + "/init.pth")
names = {id(p): n for n, p in model.named_parameters()}
terms = {"cls1": [], "cls2": [], "cps": [], "total": []}
for step in range(1, steps + 1):
    model.zero_grad()
    if mode == "cam":
        x = model(images)
        optimizer.zero_grad()
        loss = F.multilabel_soft_margin_loss(x, labels)
        terms["cls1"].append(loss.item())
    else:
        logits1, cam1, logits2, cam2 = model(images)
        optimizer.zero_grad()
        losscls1 = F.multilabel_soft_margin_loss(logits1, labels)
        losscls2 = F.multilabel_soft_margin_loss(logits2, labels)
        loss_cps = torch.mean(torch.abs(cam1 - cam2))
        loss = 0.5 * losscls1 + 0.5 * losscls2 + 0.05 * loss_cps
        terms["cls1"].append(losscls1.item())
        terms["cls2"].append(losscls2.item())
        terms["cps"].append(loss_cps.item())
    terms["total"].append(loss.item())
    loss.backward()
    optimizer.step()

    sd = model.state_dict()
    torch.save(sd, out + "/step_%d.pth" % step)
    buffers = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if "momentum_buffer" in state and state["momentum_buffer"] is not None:
                buffers[names[id(p)]] = state["momentum_buffer"]
    bufs = {}
    for k, v in sd.items():
        if k in buffers:
            bufs[k] = buffers[k]
        else:
            bufs[k] = torch.full_like(v, float("nan")) if v.is_floating_point() else v
    torch.save(bufs, out + "/buf_%d.pth" % step)

torch.save({k: torch.tensor(v, dtype=torch.float64) for k, v in terms.items() if v}, out + "/loss.pth")
