#!/usr/bin/env python3
"""Writes the .npz fixtures of tests/data/npz_test.cc with NumPy itself.

    python3 tests/data/testdata/make_npz.py   # from the repository's root

savez.npz and savez_compressed.npz hold the same arrays, one of each type the
reader takes; zip64.npz is np.savez's archive with zipfile's zip64 limit
lowered to 0 bytes, so that its central directory records, sizes, offsets
and end records are all zip64, as those of an archive past 4 GiB are.
"""
import os
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

ARRAYS = {
    "f32": np.array([[0, 1.5, -2.25], [1e6, -7, 0.1]], dtype="<f4"),
    "f64": np.array([0.1, -2.5, 3e10], dtype="<f8"),
    "u8": np.array([0, 1, 2, 3, 128, 200, 254, 255], dtype="|u1").reshape(2, 2, 2),
    "i32": np.array([0, -5, 7, 2147483647], dtype="<i4"),
    "i64": np.array([[-(1 << 40), 3], [9, 1 << 53]], dtype="<i8"),
    "rows": np.arange(15, dtype="<f4").reshape(5, 3),
}

np.savez(os.path.join(HERE, "savez.npz"), **ARRAYS)
np.savez_compressed(os.path.join(HERE, "savez_compressed.npz"), **ARRAYS)

zipfile.ZIP64_LIMIT = 0
zipfile.ZIP_FILECOUNT_LIMIT = 0
np.savez(os.path.join(HERE, "zip64.npz"), x=ARRAYS["rows"], y=np.arange(5, dtype="<i8"))
