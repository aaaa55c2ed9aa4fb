"""IR labels as step/cam_to_ir_label.py computes them from a CAM file, with its dense CRF
(imutils.crf_inference_label; pydensecrf is not installed here) replaced by the identity: the
thresholding logic, transcribed line by line from _work.
usage: official_ir_label.py CAMS.npz FG BG OUT.npy"""
import sys

import numpy as np

cam_path, fg, bg, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
d = np.load(cam_path)
cams = d["cam"]  # amr's full-resolution CAM: the official "high_res"
keys = np.pad(d["keys"].astype(np.int64) + 1, (1, 0), mode="constant")
fg_conf_cam = np.pad(cams, ((1, 0), (0, 0), (0, 0)), mode="constant", constant_values=fg)
fg_conf_cam = np.argmax(fg_conf_cam, axis=0)
pred = fg_conf_cam  # crf_inference_label(img, fg_conf_cam, n_labels=keys.shape[0])
fg_conf = keys[pred]
bg_conf_cam = np.pad(cams, ((1, 0), (0, 0), (0, 0)), mode="constant", constant_values=bg)
bg_conf_cam = np.argmax(bg_conf_cam, axis=0)
pred = bg_conf_cam  # crf_inference_label(img, bg_conf_cam, n_labels=keys.shape[0])
bg_conf = keys[pred]
conf = fg_conf.copy()
conf[fg_conf == 0] = 255
conf[bg_conf + fg_conf == 0] = 0
np.save(out, conf.astype(np.uint8))
