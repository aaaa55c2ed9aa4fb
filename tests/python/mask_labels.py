"""Independent image-level labels from masks (numpy): prints '<id> <K zeros/ones>' per id.

usage: mask_labels.py ROOT LIST K HAS_BACKGROUND(0|1) MIN_FRACTION [MAX_IDS]
"""
import sys

import numpy as np
from PIL import Image

root, lst, k, has_bg, frac = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", float(sys.argv[5])
limit = int(sys.argv[6]) if len(sys.argv) > 6 else None
ids = [l.split()[0] for l in open(root + "/" + lst) if l.strip()][:limit]
for i in ids:
    m = np.array(Image.open(root + "/SegmentationClass/" + i + ".png"))
    labelled = (m != 255).sum()
    need = max(1.0, frac * labelled)
    v = [int((m == (c + 1 if has_bg else c)).sum() >= need) for c in range(k)]
    print(i, " ".join(map(str, v)))
