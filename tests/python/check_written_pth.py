"""Loads a file written by amr::write_pth with Python's torch.load and checks its content."""
import sys

import torch

sd = torch.load(sys.argv[1])
assert list(sd.keys()) == ["w", "n"], list(sd.keys())
assert torch.equal(sd["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3)), sd["w"]
assert sd["n"].dtype == torch.int64 and sd["n"].tolist() == [4, 5]
print("ok")
