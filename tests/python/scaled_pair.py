"""The multi-scale input of amr cam, computed with OpenCV as amr does (cubic up, area down, sizes
rounded half up): [image, mirrored image] as a float32 array [2, 3, h, w], ImageNet-normalized."""
import cv2
import numpy as np

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def scaled_pair(rgb, s):
    H, W = rgb.shape[:2]
    img = rgb
    if s != 1.0:
        size = (max(1, int(np.floor(W * s + 0.5))), max(1, int(np.floor(H * s + 0.5))))
        img = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    x = ((img.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32).transpose(2, 0, 1)
    return np.stack([x, x[:, :, ::-1].copy()])
