"""Timing of the official AMR code (../shared/reference/amr-official) with Debian's python3-torch,
2 threads: the other side of bench/speed.sh. Nothing of it is part of amr.

  official_speed.py weights REF OUT.pth IMAGE...         calibrated weights (see below)
  official_speed.py train REF WEIGHTS.pth STEPS IMAGE... one training step, batch 8, 512x512
  official_speed.py cam REF WEIGHTS.pth IMAGE...          plain CAM per image (4 scales + flip,
                                                          both branches, to image size)
  official_speed.py advcam REF WEIGHTS.pth IMAGE ADV_ITER the official make_cam loop (AdvCAM,
                                                          7 scales, both branches), classes 6, 14
  official_speed.py flops REF                             conv FLOPs of a training step's parts and of a plain CAM

OFFICIAL_DEVICE=cuda: cam and advcam on the GPU (bench/gpu.sh); the official make_cam then runs
as written (it calls .cuda() itself).

Weights: the official Net built on torchvision's Kaiming-initialized ResNet-50, every BatchNorm's
running statistics then set, layer after layer, to the batch statistics of its input on real
photos (no denormals, realistic activations). Prints one JSON line.
"""
import contextlib
import json
import os
import sys
import tempfile
import time
import types

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.model_zoo

mode, ref = sys.argv[1], sys.argv[2]
sys.path.insert(0, ref)
torch.set_num_threads(2)
# OFFICIAL_FLUSH_DENORMAL=1: the official code with denormals flushed (amr always flushes them;
# the AMM's Gaussian produces some).
torch.set_flush_denormal(os.environ.get("OFFICIAL_FLUSH_DENORMAL") == "1")
torch.utils.model_zoo.load_url = lambda *a, **k: {}
for name in ["voc12", "voc12.dataloader", "pydensecrf", "pydensecrf.densecrf", "pydensecrf.utils"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["pydensecrf.utils"].unary_from_labels = None
from misc import torchutils  # noqa: E402
from net import resnet50_amr  # noqa: E402

DEVICE = torch.device(os.environ.get("OFFICIAL_DEVICE", "cpu"))


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def normalized(rgb):
    return ((rgb.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32).transpose(2, 0, 1)


def batch_512(paths, n=8):
    xs = [normalized(cv2.resize(read_rgb(paths[i % len(paths)]), (512, 512), interpolation=cv2.INTER_AREA)) for i in range(n)]
    return torch.from_numpy(np.stack(xs))


def load(weights, cls):
    model = cls()
    model.load_state_dict(torch.load(weights), strict=True)
    return model


def make_weights(out, paths):
    torch.manual_seed(0)
    model = resnet50_amr.Net()
    hooks = []

    def calibrate(module, inputs):
        x = inputs[0]
        module.running_mean.copy_(x.mean((0, 2, 3)))
        module.running_var.copy_(x.var((0, 2, 3)))

    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            hooks.append(m.register_forward_pre_hook(calibrate))
    with torch.no_grad():
        model(batch_512(paths, 4)[:, :, :320, :320])
    for h in hooks:
        h.remove()
    torch.save(model.state_dict(), out)
    print(json.dumps({"weights": out}))


def train(weights, steps, paths):
    model = load(weights, resnet50_amr.Net)
    groups = model.trainable_parameters()
    lr, wd = 0.01, 1e-4
    opt = torchutils.PolyOptimizer([
        {"params": groups[0], "lr": lr, "weight_decay": wd},
        {"params": groups[1], "lr": 10 * lr, "weight_decay": wd},
        {"params": groups[2], "lr": lr, "weight_decay": wd},
    ], lr=lr, weight_decay=wd, max_step=1000)
    model.train()
    x = batch_512(paths)
    label = torch.zeros(8, 20)
    label[:, 6] = 1
    label[::2, 14] = 1
    times = []
    for _ in range(steps + 1):  # the first step warms up
        t = time.time()
        model.zero_grad()
        logits1, cam1, logits2, cam2 = model(x)
        opt.zero_grad()
        loss = 0.5 * F.multilabel_soft_margin_loss(logits1, label) + 0.5 * F.multilabel_soft_margin_loss(logits2, label) \
            + 0.05 * torch.mean(torch.abs(cam1 - cam2))
        loss.backward()
        opt.step()
        times.append(time.time() - t)
    print(json.dumps({"step_s": float(np.median(times[1:])), "steps": steps, "loss": loss.item()}))


def cam(weights, paths, keys=(6, 14), scales=(1.0, 0.5, 1.5, 2.0)):
    model = load(weights, resnet50_amr.CAM).to(DEVICE)
    model.eval()
    times = []
    for path in paths:
        t = time.time()
        rgb = read_rgb(path)
        H, W = rgb.shape[:2]
        Hu, Wu = (H + 15) // 16 * 16, (W + 15) // 16 * 16
        fused = []
        for step in (1, 2):
            total = None
            for s in scales:
                img = rgb if s == 1.0 else cv2.resize(rgb, (round(W * s), round(H * s)),
                                                      interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
                x = normalized(img)
                x = torch.from_numpy(np.stack([x, x[:, :, ::-1].copy()])).to(DEVICE)
                with torch.no_grad():
                    c = F.relu(model(x, step=step))
                c = (c[0] + c[1].flip(-1))[list(keys)].unsqueeze(1)
                c = F.interpolate(c, (Hu, Wu), mode="bilinear", align_corners=False)[:, 0, :H, :W]
                total = c if total is None else total + c
            fused.append(total / (F.adaptive_max_pool2d(total, (1, 1)) + 1e-5))
        _ = (0.5 * fused[0] + 0.5 * fused[1]).cpu()
        sync()
        times.append(time.time() - t)
    print(json.dumps({"cam_s_per_image": float(np.mean(times[1:] if len(times) > 1 else times)), "images": len(paths)}))


def advcam(weights, path, adv_iter):
    if DEVICE.type == "cpu":
        torch.Tensor.cuda = lambda self, *a, **k: self
        torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.cuda.device_count = lambda: 2  # process 0 of "2": no progress print
    from step import make_cam
    if DEVICE.type == "cpu":
        make_cam.cuda = types.SimpleNamespace(device=lambda i: contextlib.nullcontext())
    model = load(weights, resnet50_amr.CAM)
    model.eval()
    t = time.time()
    rgb = read_rgb(path)
    H, W = rgb.shape[:2]
    imgs = []
    for s in (1.0, 0.5, 0.75, 1.25, 1.5, 1.75, 2.0):
        img = rgb if s == 1.0 else cv2.resize(rgb, (round(W * s), round(H * s)),
                                              interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
        x = normalized(img)
        imgs.append(np.stack([x, x[:, :, ::-1].copy()]))
    label = torch.zeros(20)
    label[6] = label[14] = 1
    with tempfile.TemporaryDirectory() as tmp:
        args = types.SimpleNamespace(num_workers=0, cam_out_dir=tmp, adv_iter=adv_iter, AD_coeff=7, AD_stepsize=0.08,
                                     score_th=0.5, weight=0.5)
        make_cam._work(0, model, [[{"name": "img", "img": imgs, "size": (H, W), "label": label}]], args)
        sync()
        high_res = np.load(os.path.join(tmp, "img.npy"), allow_pickle=True).item()["high_res"]
    print(json.dumps({"advcam_s_per_image": time.time() - t, "adv_iter": adv_iter, "max": float(high_res.max())}))


def flops():
    model = resnet50_amr.Net()
    x = torch.randn(8, 3, 512, 512)

    def count(fn):
        with torch.no_grad(), torch.profiler.profile(with_flops=True) as p:
            fn()
        return sum(e.flops for e in p.key_averages() if e.flops)

    f_s = count(lambda: model.stage4(model.stage3(model.stage2(model.stage1(x)))))
    h = model.stage2_1(x)
    f_frozen = count(lambda: model.stage2_1(x))
    f_c = count(lambda: model.stage2_4(model.stage2_3(model.stage2_2(h))))
    # spotlight forward + frozen stem/layer1 forward + trained part forward and backward (input
    # and weight gradients: ~2x its forward)
    # Plain CAM of one 500x375 image: both branches, 4 scales, image + flip as a batch of 2.
    cam_model = resnet50_amr.CAM()
    f_cam = 0
    for s in (1.0, 0.5, 1.5, 2.0):
        xs = torch.randn(2, 3, round(375 * s), round(500 * s))
        f_cam += count(lambda: cam_model(xs, step=1)) + count(lambda: cam_model(xs, step=2))
    print(json.dumps({"step_gflop": (f_s + f_frozen + 3 * f_c) / 1e9, "forward_gflop_per_branch": (f_s) / 1e9,
                      "cam_gflop": f_cam / 1e9}))


if mode == "weights":
    make_weights(sys.argv[3], sys.argv[4:])
elif mode == "train":
    train(sys.argv[3], int(sys.argv[4]), sys.argv[5:])
elif mode == "cam":
    cam(sys.argv[3], sys.argv[4:])
elif mode == "advcam":
    advcam(sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif mode == "flops":
    flops()
else:
    sys.exit("unknown mode " + mode)
