"""The official net/amm.py AMM (imported from the reference checkout, not copied) on random
weights: writes OUT/amm.pth = {state_dict..., "x", "grad_out", "y", "x_grad"}.

usage: make_amm_reference.py REFERENCE_DIR OUT_DIR CHANNELS
"""
import sys

import torch

sys.path.insert(0, sys.argv[1])
from net.amm import AMM  # noqa: E402

out, channels = sys.argv[2], int(sys.argv[3])
torch.manual_seed(7)
amm = AMM(channels, 16)
with torch.no_grad():
    bn = amm.SpatialAMM.spatial.bn
    bn.weight.uniform_(0.5, 1.5)
    bn.bias.uniform_(-0.3, 0.3)
x = torch.randn(2, channels, 9, 11, requires_grad=True)
y = amm(x)  # the official module stays in training mode (QUIRKS.md 1)
g = torch.randn_like(y)
y.backward(g)
d = {k: v.detach().clone() for k, v in amm.state_dict().items()}
d.update({"x": x.detach(), "grad_out": g, "y": y.detach(), "x_grad": x.grad})
torch.save(d, out + "/amm.pth")
