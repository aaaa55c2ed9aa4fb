"""The official AMR recipe run on the CPU, for bench/peer.sh: step/train_cam.py, then
step/train_amr.py, then a plain multi-scale CAM (IRN's make_cam without AdvCAM) of a val list,
with the official modules imported from the reference checkout. Only what a CPU and a
non-VOC data set need is changed, each change listed here:
  - .cuda() / DataParallel dropped (no GPU); torch threads set;
  - the class count 20 in net/resnet50_cam.py and net/resnet50_amr.py patched to the data set's
    (their source is loaded and the literal replaced at run time; nothing is copied);
  - model_zoo.load_url returns the "ImageNet" weights given on the command line (a torchvision
    layout state_dict: there is no network);
  - misc.imutils imports pydensecrf and voc12.dataloader imageio at module level (neither is in
    Debian): empty stubs, both unused here; voc12.dataloader's import-time load of VOC's
    cls_labels.npy (not shipped) returns an empty dict;
  - the data set reads image names and labels from DATA/<list> and DATA/cls_labels.txt (amr's
    VOC layout) instead of VOC's int-encoded names and cls_labels.npy; images decoded with PIL
    (imageio is not in Debian); the transform chain is voc12.dataloader's, with their imutils;
  - crop, resize range, cutout size, epochs, batch, lr scaled to the benchmark (flags below).
The training loops are transcribed from step/train_cam.py and step/train_amr.py (loss, optimizer
groups, validation after every epoch); the CAM step from tests/python/official_cam_reference.py
(their CAM class, image + flip as a batch, stride-16 upsampling, per-class max normalization).

usage: peer_official.py REF DATA IMAGENET.pth OUT --seed S [--cam-epochs 2 --amr-epochs 3 ...]
Writes OUT/cam.pth, OUT/amr.pth, OUT/cams/<id>.npz (keys, cam, cam_s, cam_c as amr cam writes
them), OUT/times.json (seconds per stage). Resumable: a finished stage is skipped.
"""
import argparse
import json
import os
import random
import sys
import time
import types

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.model_zoo
from PIL import Image
from torch.utils.data import DataLoader, Dataset

ap = argparse.ArgumentParser()
ap.add_argument("ref"), ap.add_argument("data"), ap.add_argument("imagenet"), ap.add_argument("out")
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--cam-epochs", type=int, default=2)
ap.add_argument("--amr-epochs", type=int, default=3)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--lr", type=float, default=0.01)
ap.add_argument("--wd", type=float, default=1e-4)
ap.add_argument("--crop", type=int, default=96)
ap.add_argument("--resize-long", type=int, nargs=2, default=[84, 112])
ap.add_argument("--cutout", type=int, default=24)
ap.add_argument("--workers", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--list", default="train.txt")
ap.add_argument("--val-list", default="val.txt")
ap.add_argument("--cam-list", default="val.txt")
ap.add_argument("--scales", default="1.0,0.5,1.5,2.0")
args = ap.parse_args()

torch.set_num_threads(args.threads)
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, args.ref)
sys.path.insert(0, os.path.join(here, "..", "tests", "python"))
sys.modules["pydensecrf"] = types.ModuleType("pydensecrf")
sys.modules["pydensecrf.densecrf"] = types.ModuleType("pydensecrf.densecrf")
utils_stub = types.ModuleType("pydensecrf.utils")
utils_stub.unary_from_labels = None
sys.modules["pydensecrf.utils"] = utils_stub
imagenet = torch.load(args.imagenet)
torch.utils.model_zoo.load_url = lambda *a, **k: imagenet

from misc import imutils, torchutils  # noqa: E402
from scaled_pair import read_rgb, scaled_pair  # noqa: E402
sys.modules.setdefault("imageio", types.ModuleType("imageio"))  # imported by voc12.dataloader, unused here
np_load = np.load  # voc12.dataloader loads VOC's voc12/cls_labels.npy at import (not shipped): an empty dict
np.load = lambda path, *a, **k: np.array({}, dtype=object) if str(path).endswith("cls_labels.npy") else np_load(path, *a, **k)
import voc12.dataloader  # noqa: E402  (their TorchvisionNormalize)
np.load = np_load

labels = {}
with open(os.path.join(args.data, "cls_labels.txt")) as f:
    for line in f:
        parts = line.split()
        if parts:
            labels[parts[0]] = np.array([float(v) for v in parts[1:]], np.float32)
K = len(next(iter(labels.values())))


def load_patched(name):
    """net/<name>.py with the class count 20 replaced by K."""
    path = os.path.join(args.ref, "net", name + ".py")
    src = open(path).read()
    patched = src.replace("2048, 20, 1", "2048, %d, 1" % K).replace("view(-1, 20)", "view(-1, %d)" % K)
    assert patched.count(str(K)) >= 2 and "view(-1, 20)" not in patched, path
    mod = types.ModuleType("net." + name)
    mod.__file__ = path
    exec(compile(patched, path, "exec"), mod.__dict__)
    sys.modules["net." + name] = mod
    return mod


resnet50_cam, resnet50_amr = load_patched("resnet50_cam"), load_patched("resnet50_amr")


def read_list(name):
    with open(os.path.join(args.data, name)) as f:
        return [line.split()[0] for line in f if line.strip()]


class ClassificationDataset(Dataset):
    """voc12.dataloader.VOC12ClassificationDataset's transforms, on amr's VOC layout."""

    def __init__(self, list_name, resize_long=None, hor_flip=False, crop_size=None, crop_method=None, cutout=0):
        self.names = read_list(list_name)
        self.resize_long, self.hor_flip, self.crop_size = resize_long, hor_flip, crop_size
        self.crop_method, self.cutout = crop_method, cutout
        self.normal = voc12.dataloader.TorchvisionNormalize()

    def __len__(self):
        return len(self.names)

    def __getitem__(self, idx):
        name = self.names[idx]
        img = np.asarray(Image.open(os.path.join(args.data, "JPEGImages", name + ".jpg")).convert("RGB"))
        if self.resize_long:
            img = imutils.random_resize_long(img, self.resize_long[0], self.resize_long[1])
        img = self.normal(img)
        if self.hor_flip:
            img = imutils.random_lr_flip(img)
        if self.crop_size:
            if self.crop_method == "random":
                img = imutils.random_crop(img, self.crop_size, 0)
            else:
                img = imutils.top_left_crop(img, self.crop_size, 0)
        img = imutils.HWC_to_CHW(img)
        if self.cutout > 0:
            img = imutils.cutout(img, self.cutout)
        return {"name": name, "img": img, "label": torch.from_numpy(labels[name])}


def loaders(cutout):
    train = ClassificationDataset(args.list, resize_long=tuple(args.resize_long), hor_flip=True,
                                  crop_size=args.crop, crop_method="random", cutout=cutout)
    val = ClassificationDataset(args.val_list, crop_size=args.crop)
    return (DataLoader(train, batch_size=args.batch, shuffle=True, num_workers=args.workers, drop_last=True),
            DataLoader(val, batch_size=args.batch, shuffle=False, num_workers=args.workers, drop_last=True), len(train))


def validate(model, loader, dual):
    losses = []
    with torch.no_grad():
        for pack in loader:
            if dual:
                logits1, cam1, logits2, cam2 = model(pack["img"])
                l1 = F.multilabel_soft_margin_loss(logits1, pack["label"])
                l2 = F.multilabel_soft_margin_loss(logits2, pack["label"])
                losses.append((0.5 * l1 + 0.5 * l2 + 0.05 * torch.mean(torch.abs(cam1[1:] - cam2[1:]))).item())
            else:
                losses.append(F.multilabel_soft_margin_loss(model(pack["img"]), pack["label"]).item())
    return float(np.mean(losses)) if losses else float("nan")


def train(model, groups, epochs, cutout, dual, log):
    train_loader, val_loader, n = loaders(cutout)
    max_step = (n // args.batch) * epochs
    optimizer = torchutils.PolyOptimizer(groups, lr=args.lr, weight_decay=args.wd, max_step=max_step)
    model.train()
    for ep in range(epochs):
        for pack in train_loader:
            model.zero_grad()
            if dual:
                logits1, cam1, logits2, cam2 = model(pack["img"])
                optimizer.zero_grad()
                l1 = F.multilabel_soft_margin_loss(logits1, pack["label"])
                l2 = F.multilabel_soft_margin_loss(logits2, pack["label"])
                loss = 0.5 * l1 + 0.5 * l2 + 0.05 * torch.mean(torch.abs(cam1 - cam2))
            else:
                x = model(pack["img"])
                optimizer.zero_grad()
                loss = F.multilabel_soft_margin_loss(x, pack["label"])
            loss.backward()
            optimizer.step()
            if (optimizer.global_step - 1) % 50 == 0:
                print("%s step %d/%d loss %.4f" % (log, optimizer.global_step - 1, max_step, loss.item()), flush=True)
        print("%s epoch %d val loss %.4f" % (log, ep + 1, validate(model, val_loader, dual)), flush=True)


def seed_all(offset):
    random.seed(args.seed * 1000 + offset)
    np.random.seed(args.seed * 1000 + offset)
    torch.manual_seed(args.seed * 1000 + offset)


def save_atomic(obj, path):
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


os.makedirs(args.out, exist_ok=True)
times_path = os.path.join(args.out, "times.json")
times = json.load(open(times_path)) if os.path.exists(times_path) else {}


def record(stage, seconds):
    times[stage] = seconds
    with open(times_path + ".tmp", "w") as f:
        json.dump(times, f, indent=1)
    os.replace(times_path + ".tmp", times_path)


cam_path, amr_path = os.path.join(args.out, "cam.pth"), os.path.join(args.out, "amr.pth")
if not os.path.exists(cam_path):
    seed_all(1)
    t = time.time()
    model = resnet50_cam.Net()
    g = model.trainable_parameters()
    groups = [{"params": g[0], "lr": args.lr, "weight_decay": args.wd},
              {"params": g[1], "lr": 10 * args.lr, "weight_decay": args.wd}]
    train(model, groups, args.cam_epochs, args.cutout, False, "official cam")
    save_atomic(model.state_dict(), cam_path)
    record("train_cam", time.time() - t)

if not os.path.exists(amr_path):
    seed_all(2)
    t = time.time()
    model = resnet50_amr.Net()
    model.load_state_dict(torch.load(cam_path), strict=False)
    g = model.trainable_parameters()
    groups = [{"params": g[0], "lr": args.lr, "weight_decay": args.wd},
              {"params": g[1], "lr": 10 * args.lr, "weight_decay": args.wd},
              {"params": g[2], "lr": args.lr, "weight_decay": args.wd}]
    train(model, groups, args.amr_epochs, 0, True, "official amr")
    save_atomic(model.state_dict(), amr_path)
    record("train_amr", time.time() - t)

cams = os.path.join(args.out, "cams")
if not os.path.exists(os.path.join(cams, "done")):
    t = time.time()
    os.makedirs(cams, exist_ok=True)
    model = resnet50_amr.CAM()
    model.load_state_dict(torch.load(amr_path), strict=True)
    model.eval()  # a no-op (QUIRKS.md 1), as in the official make_cam
    scales = [float(s) for s in args.scales.split(",")]
    for name in read_list(args.cam_list):
        out = os.path.join(cams, name + ".npz")
        if os.path.exists(out):
            continue
        keys = np.nonzero(labels[name] > 0.5)[0]
        rgb = read_rgb(os.path.join(args.data, "JPEGImages", name + ".jpg"))
        H, W = rgb.shape[:2]
        Hu, Wu = (H + 15) // 16 * 16, (W + 15) // 16 * 16

        def branch(step):
            total = None
            for s in scales:
                with torch.no_grad():
                    cam = F.relu(model(torch.from_numpy(scaled_pair(rgb, s)), step=step))
                cam = cam[0] + cam[1].flip(-1)
                cam = cam[torch.from_numpy(keys)].unsqueeze(1)
                cam = F.interpolate(cam, (Hu, Wu), mode="bilinear", align_corners=False)[:, 0, :H, :W]
                total = cam if total is None else total + cam
            return (total / (F.adaptive_max_pool2d(total, (1, 1)) + 1e-5)).numpy().astype(np.float32)

        cam_s, cam_c = branch(1), branch(2)
        with open(out + ".tmp", "wb") as f:
            np.savez(f, keys=keys.astype(np.int32), cam=0.5 * cam_s + 0.5 * cam_c, cam_s=cam_s, cam_c=cam_c)
        os.replace(out + ".tmp", out)
    open(os.path.join(cams, "done"), "w").close()
    record("cam", time.time() - t)
print("official: done", json.dumps(times))
