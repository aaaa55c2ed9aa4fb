"""IR labels (or any label PNGs with 255 = unsure) against ground truth: precision over the
confident pixels and their coverage of the labelled pixels. usage: irn_label_quality.py DATA LIST LABEL_DIR"""
import os
import sys

import numpy as np
from PIL import Image

data, lst, labels = sys.argv[1:4]
correct = confident = labelled = 0
for i in open(lst).read().split():
    gt = np.asarray(Image.open(os.path.join(data, "SegmentationClass", i + ".png")))
    lab = np.asarray(Image.open(os.path.join(labels, i + ".png")))
    valid = gt != 255
    conf = valid & (lab != 255)
    correct += int((conf & (lab == gt)).sum())
    confident += int(conf.sum())
    labelled += int(valid.sum())
print(f"{100.0 * correct / max(confident, 1):.2f} {100.0 * confident / max(labelled, 1):.2f}")
