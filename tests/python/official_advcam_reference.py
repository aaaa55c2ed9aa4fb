"""The official AMR make_cam (AdvCAM adversarial climbing on both branches, GradCAM from
step/gradCAM.py) run on CPU for one image: the oracle for `amr cam --refine advcam|gradcam`.
The official `_work` loop itself is called; only CUDA calls, the VOC dataset module and
pydensecrf (imported but unused) are stubbed. With ADV_ITER 1 it is plain Grad-CAM.

usage: official_advcam_reference.py REFERENCE_DIR WEIGHTS.pth IMAGE.jpg LABELS(20, comma)
       SCALES(7, comma) XI ADV_ITER OUT.npy
Resizing and decoding use OpenCV, as amr does (cubic up, area down, sizes rounded).
"""
import contextlib
import os
import sys
import tempfile
import types

import numpy as np
import torch
import torch.utils.model_zoo

ref, weights, image, labels, scales, xi, adv_iter, out = sys.argv[1:9]
sys.path.insert(0, ref)
torch.set_num_threads(1)
torch.utils.model_zoo.load_url = lambda *a, **k: {}
for name in ["voc12", "voc12.dataloader", "pydensecrf", "pydensecrf.densecrf", "pydensecrf.utils"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["pydensecrf.utils"].unary_from_labels = None
torch.Tensor.cuda = lambda self, *a, **k: self
torch.nn.Module.cuda = lambda self, *a, **k: self
torch.cuda.device_count = lambda: 2  # process 0 of "2": skips the progress print (needs >= 20 items)
from net import resnet50_amr  # noqa: E402
from step import make_cam  # noqa: E402
from scaled_pair import read_rgb, scaled_pair  # noqa: E402

make_cam.cuda = types.SimpleNamespace(device=lambda i: contextlib.nullcontext())

scales = [float(s) for s in scales.split(",")]
assert len(scales) == 7, "the official loop visits 7 scales"
model = resnet50_amr.CAM()
model.load_state_dict(torch.load(weights), strict=True)
model.eval()

rgb = read_rgb(image)
H, W = rgb.shape[:2]
imgs = [scaled_pair(rgb, s) for s in scales]
label = torch.tensor([float(v) for v in labels.split(",")])
item = {"name": "img", "img": imgs, "size": (H, W), "label": label}

with tempfile.TemporaryDirectory() as tmp:
    args = types.SimpleNamespace(num_workers=0, cam_out_dir=tmp, adv_iter=int(adv_iter), AD_coeff=7,
                                 AD_stepsize=0.08, score_th=0.5, weight=float(xi))
    make_cam._work(0, model, [[item]], args)
    result = np.load(os.path.join(tmp, "img.npy"), allow_pickle=True).item()
np.save(out, np.asarray(result["high_res"], dtype=np.float32))
