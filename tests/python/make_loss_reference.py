"""AMR losses written independently in Python: L_cls (PyTorch's MultiLabelSoftMarginLoss),
L_cps (mean L1, and the official flip-pair variant), seed Eq. 10 area term."""
import sys

import torch
import torch.nn.functional as F

out = sys.argv[1]
torch.manual_seed(11)
n, k, h, w = 3, 6, 5, 7
logits_s, logits_c = torch.randn(n, k), torch.randn(n, k)
cam_s, cam_c = F.relu(torch.randn(n, k, h, w)), F.relu(torch.randn(n, k, h, w))
labels = (torch.rand(n, k) > 0.5).float()
labels[0, 0] = 1.0


def area(cam, lab):
    p = cam / (cam.flatten(2).max(2)[0][:, :, None, None] + 1e-5)
    terms = [p[i, j].mean() for i in range(n) for j in range(k) if lab[i, j] > 0]
    return sum(terms) / len(terms)


cls = 0.5 * F.multilabel_soft_margin_loss(logits_s, labels) + 0.5 * F.multilabel_soft_margin_loss(logits_c, labels)
cps = torch.mean(torch.abs(cam_s - cam_c))
pair = lambda c: c[0] + c[1].flip(-1)
cps_pair = torch.mean(torch.abs(pair(cam_s) - pair(cam_c)))
ar = 0.5 * (area(cam_s, labels) + area(cam_c, labels))
single = F.multilabel_soft_margin_loss(logits_s, labels) + 0.3 * area(cam_s, labels)
torch.save({
    "logits_s": logits_s, "logits_c": logits_c, "cam_s": cam_s, "cam_c": cam_c, "labels": labels,
    "cls": cls, "cps": cps, "cps_pair": cps_pair, "area": ar, "area_compensation": area(cam_c, labels),
    "total": cls + 0.05 * cps + 0.3 * ar, "total_pair": cls + 0.05 * cps_pair, "single": single,
}, out + "/loss.pth")
