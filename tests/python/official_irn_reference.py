"""IRN oracle: the official net/resnet50_irn.py, misc/indexing.py, voc12's affinity labels and
the step/train_irn.py loop body, on CPU.

usage: official_irn_reference.py REFERENCE_DIR OUT_DIR STEPS LR MAX_STEP

Writes to OUT_DIR:
  weights.pth   the Net's state_dict (official names, aliases included) before training; the
                backbone is a stand-in "ImageNet" ResNet-50 (random weights, BN statistics
                calibrated on a batch), the branches PyTorch's init with random GroupNorm affine,
                mean_shift.running_mean random
  forward.pth   x [2, 3, 64, 80]; edge, dp: Net.forward in eval mode
  infer.pth     image [3, 70, 83]; boundary: EdgeDisplacement(crop_size=96) as make_sem_seg_labels
  batch.pth     images [2, 3, 128, 128]; label [2, 128, 128] uint8 (classes 0, 3, 7 and 255)
  labels.pth    bg_pos, fg_pos, neg: GetAffinityLabelFromIndices on pil_rescale(label, 0.25, 0)
  terms_<s>.pth pos_aff, neg_aff, dp_fg, dp_bg (the four maps), the four reduced losses and total
                of step s (before its update)
  step_<s>.pth  the fc_* and mean_shift tensors of the state_dict after s steps
"""
import sys
import types

import numpy as np
import torch
import torch.utils.model_zoo

from stand_in_imagenet import stand_in_resnet50

ref, out, steps, lr, max_step = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
wd = 1e-4  # run_sample.py: irn_weight_decay
torch.set_num_threads(1)
torch.manual_seed(21)

imagenet = stand_in_resnet50()
torch.utils.model_zoo.load_url = lambda *a, **k: imagenet

sys.path.insert(0, ref)
for name in ["imageio", "pydensecrf", "pydensecrf.densecrf", "pydensecrf.utils"]:  # imported, unused here
    sys.modules[name] = types.ModuleType(name)
sys.modules["pydensecrf.utils"].unary_from_labels = None
from misc import imutils, indexing, torchutils  # noqa: E402
from net import resnet50_irn  # noqa: E402


def official_class(path, name):
    """One class of an official module, run without the module's import-time side effects
    (voc12/dataloader.py loads voc12/cls_labels.npy from the working directory)."""
    import ast
    tree = ast.parse(open(path).read())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    scope = {"np": np, "torch": torch}
    exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), scope)
    return scope[name]


GetAffinityLabelFromIndices = official_class(ref + "/voc12/dataloader.py", "GetAffinityLabelFromIndices")

net = resnet50_irn.Net()
with torch.no_grad():
    for name, p in net.named_parameters():
        if "fc_" in name and p.dim() == 1:
            p.uniform_(0.5, 1.5) if name.endswith("weight") else p.uniform_(-0.2, 0.2)
    net.mean_shift.running_mean.copy_(torch.tensor([0.3, -0.2]))
torch.save(net.state_dict(), out + "/weights.pth")

net.eval()
x = torch.randn(2, 3, 64, 80)
with torch.no_grad():
    edge, dp = net(x)
torch.save({"x": x, "edge": edge, "dp": dp}, out + "/forward.pth")

ed = resnet50_irn.EdgeDisplacement(crop_size=96)
ed.load_state_dict(torch.load(out + "/weights.pth"), strict=False)
ed.eval()
image = torch.randn(3, 70, 83)
with torch.no_grad():
    boundary, _ = ed(torch.stack([image, image.flip(-1)]))
torch.save({"image": image, "boundary": boundary[0]}, out + "/infer.pth")

crop = 128
path_index = indexing.PathIndex(radius=10, default_size=(crop // 4, crop // 4))
images = torch.randn(2, 3, crop, crop)
label = np.zeros((2, crop, crop), np.uint8)
label[0, 20:90, 30:100] = 3
label[0, 60:128, 0:40] = 7
label[0, 85:100, :] = 255
label[1, :, 64:] = 7
label[1, 10:50, 10:50] = 255
extract = GetAffinityLabelFromIndices(path_index.src_indices, path_index.dst_indices)
packs = [extract(imutils.pil_rescale(label[i], 0.25, 0)) for i in range(2)]
bg_pos, fg_pos, neg = (torch.stack([p[j] for p in packs]) for j in range(3))
torch.save({"images": images, "label": torch.from_numpy(label)}, out + "/batch.pth")
torch.save({"bg_pos": bg_pos, "fg_pos": fg_pos, "neg": neg}, out + "/labels.pth")

model = resnet50_irn.AffinityDisplacementLoss(path_index)
model.load_state_dict(torch.load(out + "/weights.pth"), strict=False)
torch.save(model.state_dict(), out + "/res50_irn.pth")  # what train_irn.py saves (with path_indices*, disp_target)
param_groups = model.trainable_parameters()
optimizer = torchutils.PolyOptimizer([
    {'params': param_groups[0], 'lr': lr, 'weight_decay': wd},
    {'params': param_groups[1], 'lr': 10 * lr, 'weight_decay': wd},
], lr=lr, weight_decay=wd, max_step=max_step)
model.train()
for step in range(1, steps + 1):
    pos_aff_loss, neg_aff_loss, dp_fg_loss, dp_bg_loss = model(images, True)
    maps = {"pos_aff": pos_aff_loss.detach(), "neg_aff": neg_aff_loss.detach(), "dp_fg": dp_fg_loss.detach(), "dp_bg": dp_bg_loss.detach()}
    bg_pos_aff_loss = torch.sum(bg_pos * pos_aff_loss) / (torch.sum(bg_pos) + 1e-5)
    fg_pos_aff_loss = torch.sum(fg_pos * pos_aff_loss) / (torch.sum(fg_pos) + 1e-5)
    pos_aff_loss = bg_pos_aff_loss / 2 + fg_pos_aff_loss / 2
    neg_aff_loss = torch.sum(neg * neg_aff_loss) / (torch.sum(neg) + 1e-5)
    dp_fg_loss = torch.sum(dp_fg_loss * torch.unsqueeze(fg_pos, 1)) / (2 * torch.sum(fg_pos) + 1e-5)
    dp_bg_loss = torch.sum(dp_bg_loss * torch.unsqueeze(bg_pos, 1)) / (2 * torch.sum(bg_pos) + 1e-5)
    total_loss = (pos_aff_loss + neg_aff_loss) / 2 + (dp_fg_loss + dp_bg_loss) / 2
    maps.update({"pos_aff_loss": pos_aff_loss.detach(), "neg_aff_loss": neg_aff_loss.detach(),
                 "dp_fg_loss": dp_fg_loss.detach(), "dp_bg_loss": dp_bg_loss.detach(), "total": total_loss.detach()})
    torch.save(maps, out + "/terms_%d.pth" % step)
    optimizer.zero_grad()
    total_loss.backward()
    optimizer.step()
    # The backbone is frozen: only the branches (and mean_shift) are written.
    torch.save({k: v for k, v in model.state_dict().items() if k.startswith(("fc_", "mean_shift"))}, out + "/step_%d.pth" % step)
