"""DeepLab oracle: kazuto1011/deeplab-pytorch's models (libs/models: resnet, deeplabv2,
deeplabv3plus, msc), its PolynomialLR and main.py's training step, on CPU.

usage: deeplab_reference.py DEEPLAB_DIR OUT_DIR

Writes to OUT_DIR:
  v2_msc.pth      state_dict of MSC(DeepLabV2 ResNet-50, rates 6/12/18/24, scales 0.5/0.75)
                  (base.* names): random weights, BatchNorm statistics calibrated on a batch
  v2_plain.pth    the same network's base alone (DeepLabV2's own names, no base. prefix)
  v3plus_msc.pth  MSC(DeepLabV3Plus ResNet-50, output stride 8, rates 12/24/36)
  forward.pth     x [1, 3, 97, 113]; v2 (base alone), v2_msc (MSC in eval mode), v3plus_msc
  batch.pth       images_<k> [2, 3, 65, 65] and labels_<k> [2, 65, 65] (255 regions) of the
                  two accumulated sub-batches
  step_<s>.pth    after s SGD steps of main.py's train loop (freeze_bn, 1x/10x/20x groups, SGD
                  momentum 0.9, PolynomialLR step_size 2, iter_max 10): the trained tensors,
                  loss (the step's summed loss), lr_1x, lr_10x, lr_20x (the groups' lr used)
"""
import importlib
import sys
import types

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

ref, out = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
torch.manual_seed(3)

# libs/models/__init__.py imports files the reference copy does not hold: load the modules alone.
for pkg, path in [("libs", ref + "/libs"), ("libs.models", ref + "/libs/models"), ("libs.utils", ref + "/libs/utils")]:
    m = types.ModuleType(pkg)
    m.__path__ = [path]
    sys.modules[pkg] = m
deeplabv2 = importlib.import_module("libs.models.deeplabv2")
deeplabv3plus = importlib.import_module("libs.models.deeplabv3plus")
msc = importlib.import_module("libs.models.msc")
lr_scheduler = importlib.import_module("libs.utils.lr_scheduler")

R50 = [3, 4, 6, 3]


def calibrate(model):
    """Random BatchNorm affine, then running statistics of one batch (no denormals downstream)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 97, 113) * 60)
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 1 - 0.999


def v2_msc():
    return msc.MSC(base=deeplabv2.DeepLabV2(n_classes=7, n_blocks=R50, atrous_rates=[6, 12, 18, 24]), scales=[0.5, 0.75])


model = v2_msc()
calibrate(model)
# logits of a few units (the features of the calibrated random backbone are large)
for c in model.base.aspp.children():
    nn.init.normal_(c.weight, 0, 0.001)
    nn.init.uniform_(c.bias, -0.5, 0.5)
torch.save(model.state_dict(), out + "/v2_msc.pth")
torch.save(model.base.state_dict(), out + "/v2_plain.pth")

v3p = msc.MSC(base=deeplabv3plus.DeepLabV3Plus(n_classes=7, n_blocks=R50, atrous_rates=[12, 24, 36], multi_grids=[1, 2, 4],
                                               output_stride=8), scales=[0.5, 0.75])
calibrate(v3p)
torch.save(v3p.state_dict(), out + "/v3plus_msc.pth")

x = torch.randn(1, 3, 97, 113) * 60
with torch.no_grad():
    model.eval()
    v3p.eval()
    torch.save({"x": x, "v2": model.base(x), "v2_msc": model(x), "v3plus_msc": v3p(x)}, out + "/forward.pth")

# main.py's train loop: 2 sub-batches of 2 accumulated per step (ITER_SIZE 2).
g = torch.Generator().manual_seed(5)
batch = {}
for k in range(2):
    batch["images_%d" % k] = torch.randn(2, 3, 65, 65, generator=g) * 60
    labels = torch.randint(0, 7, (2, 65, 65), generator=g)
    labels[:, :9, :] = 255
    labels[1, 30:, 40:] = 255
    batch["labels_%d" % k] = labels
torch.save(batch, out + "/batch.pth")


def get_params(model, key):  # main.py
    for name, m in model.named_modules():
        if key == "1x" and "layer" in name and isinstance(m, nn.Conv2d):
            yield from m.parameters()
        if key == "10x" and "aspp" in name and isinstance(m, nn.Conv2d):
            yield m.weight
        if key == "20x" and "aspp" in name and isinstance(m, nn.Conv2d):
            yield m.bias


def resize_labels(labels, size):  # main.py
    new_labels = []
    for label in labels:
        label = label.float().numpy()
        label = Image.fromarray(label).resize(size, resample=Image.NEAREST)
        new_labels.append(np.asarray(label))
    return torch.LongTensor(np.array(new_labels))


LR, WD = 2e-5, 5e-4
optimizer = torch.optim.SGD(
    params=[
        {"params": get_params(model, "1x"), "lr": LR, "weight_decay": WD},
        {"params": get_params(model, "10x"), "lr": 10 * LR, "weight_decay": WD},
        {"params": get_params(model, "20x"), "lr": 20 * LR, "weight_decay": 0.0},
    ],
    momentum=0.9,
)
scheduler = lr_scheduler.PolynomialLR(optimizer=optimizer, step_size=2, iter_max=10, power=0.9)
criterion = nn.CrossEntropyLoss(ignore_index=255)
model.train()
model.base.freeze_bn()
for iteration in range(1, 4):
    optimizer.zero_grad()
    loss = 0
    lrs = [group["lr"] for group in optimizer.param_groups]
    for k in range(2):
        logits = model(batch["images_%d" % k])
        iter_loss = 0
        for logit in logits:
            _, _, H, W = logit.shape
            iter_loss += criterion(logit, resize_labels(batch["labels_%d" % k], size=(H, W)))
        iter_loss /= 2
        iter_loss.backward()
        loss += float(iter_loss)
    optimizer.step()
    scheduler.step(epoch=iteration)
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if "num_batches" not in k}
    state.update({"loss": torch.tensor(loss, dtype=torch.float64), "lr_1x": torch.tensor(lrs[0], dtype=torch.float64),
                  "lr_10x": torch.tensor(lrs[1], dtype=torch.float64), "lr_20x": torch.tensor(lrs[2], dtype=torch.float64)})
    torch.save(state, out + "/step_%d.pth" % iteration)
