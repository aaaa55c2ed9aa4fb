"""Writes the same small state_dict in torch.save's zip and legacy formats (oracle for test_pth)."""
import collections
import sys

import torch

out = sys.argv[1]
a = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5
sd = collections.OrderedDict()
sd["a"] = a
sd["a_t"] = a.t()  # non-contiguous view sharing a's storage
sd["d"] = torch.arange(6, dtype=torch.float64) / 3.0
sd["l"] = torch.arange(-2, 3, dtype=torch.int64)
sd["h"] = torch.tensor([1.5, -2.25], dtype=torch.float16)
sd["flag"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(7, dtype=torch.int64)
sd["empty"] = torch.zeros(0)
sd["param"] = torch.nn.Parameter(torch.full((2, 2), 3.0))
sd._metadata = collections.OrderedDict([("", {"version": 1})])
torch.save(sd, out + "/zip.pth")
torch.save(sd, out + "/legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"state_dict": sd, "epoch": 3}, out + "/wrapped.pth")
