"""Why single-object pretraining learns slowly: the same torchvision ResNet-18 (output stride 16,
GAP, 1x1 classifier without bias, MultiLabelSoftMargin, SGD lr 0.05 momentum 0.9 wd 1e-4,
batch 32) on (a) FashionScenes single-object JPEGs and (b) the same classes' plain Fashion-MNIST
items (no background, no tint), both at 48 px. Prints loss and batch accuracy every 20 steps.

usage: /usr/bin/python3 bench/python/pretraining_diagnosis.py SCENES_ROOT [STEPS]
  SCENES_ROOT: from `amr scenes --objects 1:1 --size 48 --classes trouser,pullover,dress,sneaker,bag`
Measured 2026-11-29 (2 cores): (a) loss ~0.50-0.52 at step 180 (the all-negative plateau);
(b) loss 0.035 and ~97% batch accuracy by step 40.
"""
import gzip
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

FASHION = "/usr/share/datasets/fashion-mnist/"
NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def scene_set(root, n):
    rows = [line.split() for line in open(root + "/cls_labels.txt") if line.startswith("train_")][:n]
    x = np.stack([((np.asarray(Image.open("%s/JPEGImages/%s.jpg" % (root, r[0])).convert("RGB"), np.float32) / 255
                    - MEAN) / STD).transpose(2, 0, 1) for r in rows])
    return torch.from_numpy(x), torch.tensor([[float(v) for v in r[1:]] for r in rows])


def plain_set(classes, n, size):
    img = np.frombuffer(gzip.open(FASHION + "train-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
    lab = np.frombuffer(gzip.open(FASHION + "train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    keep = [NAMES.index(c) for c in classes]
    sel = np.isin(lab, keep)
    img, lab = img[sel][:n], lab[sel][:n]
    x = torch.from_numpy(img).float().div(255).unsqueeze(1).repeat(1, 3, 1, 1)
    x = (F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False) - 0.45) / 0.225
    y = torch.zeros(len(lab), len(keep))
    y[torch.arange(len(lab)), torch.tensor([keep.index(int(v)) for v in lab])] = 1
    return x, y


def train(name, x, y, steps):
    torch.manual_seed(0)
    m = torchvision.models.resnet18()
    m.layer4[0].conv1.stride = (1, 1)
    m.layer4[0].downsample[0].stride = (1, 1)
    body = torch.nn.Sequential(*list(m.children())[:-2])
    cls = torch.nn.Conv2d(512, y.shape[1], 1, bias=False)
    opt = torch.optim.SGD(list(body.parameters()) + list(cls.parameters()), lr=0.05, momentum=0.9, weight_decay=1e-4)
    perm = torch.randperm(len(x))
    for s in range(steps):
        idx = perm[(s * 32) % len(x):(s * 32) % len(x) + 32]
        logit = cls(body(x[idx]).mean((2, 3), keepdim=True)).flatten(1)
        loss = F.multilabel_soft_margin_loss(logit, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s % 20 == 0:
            acc = (logit.argmax(1) == y[idx].argmax(1)).float().mean().item()
            print("%s step %d loss %.4f batch accuracy %.2f" % (name, s, loss.item(), acc), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(2)
    root = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 187
    classes = [c.strip() for c in open(root + "/classes.txt")][1:]
    xs, ys = scene_set(root, 6000)
    train("scenes", xs, ys, steps)
    xp, yp = plain_set(classes, 6000, xs.shape[-1])
    train("plain", xp, yp, steps)
