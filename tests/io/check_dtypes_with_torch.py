"""Reads a safetensors file written by write_dtype_samples.cc by the format's
specification (https://github.com/huggingface/safetensors: an 8-byte
little-endian header length, a JSON header, the data area tiled by the
tensors), without mnemo's reader, and checks it with PyTorch:

- every dtype, shape and byte range is what the specification requires
  ("BF16" and "I8" spelled so, the byte count of the shape in that dtype);
- x.bf16 is torch's float32 -> bfloat16 conversion (round to nearest even) of
  x, bit for bit, but for NaNs, which must stay NaNs of their sign;
- all.f32 is torch's bfloat16 -> float32 conversion of every pattern;
- q holds -128 to 127 as int8.

Usage: check_dtypes_with_torch.py <file.safetensors>
"""

import json
import struct
import sys

import torch

ELEMENT_BYTES = {"F32": 4, "BF16": 2, "I8": 1}
TORCH_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "I8": torch.int8}


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def read(path):
    data = open(path, "rb").read()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
    area = data[8 + header_length :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    covered = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        if set(entry) != {"dtype", "shape", "data_offsets"}:
            fail(f"{name}: keys {sorted(entry)}")
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in ELEMENT_BYTES:
            fail(f"{name}: dtype {dtype!r}")
        count = 1
        for dimension in shape:
            count *= dimension
        if end - begin != count * ELEMENT_BYTES[dtype]:
            fail(f"{name}: shape {shape} of {dtype} but bytes {begin} to {end}")
        if begin != covered:
            fail(f"{name}: begins at {begin}, not {covered}")
        if (8 + header_length + begin) % ELEMENT_BYTES[dtype] != 0:
            fail(f"{name}: data not aligned to its {dtype} elements")
        covered = end
        raw = bytearray(area[begin:end])
        tensor = torch.frombuffer(raw, dtype=TORCH_DTYPES[dtype]) if raw else torch.empty(
            0, dtype=TORCH_DTYPES[dtype])
        tensors[name] = (dtype, shape, tensor.reshape(shape))
    if covered != len(area):
        fail(f"data area of {len(area)} bytes, tensors cover {covered}")
    return metadata, tensors


def bits(tensor):
    return tensor.view(torch.int16 if tensor.dtype == torch.bfloat16 else torch.int32)


def main():
    metadata, tensors = read(sys.argv[1])
    if metadata != {"written_by": "write_dtype_samples"}:
        fail(f"metadata {metadata}")
    expected = {"x.bf16": "BF16", "all.bf16": "BF16", "q": "I8", "v": "I8",
                "x": "F32", "all.f32": "F32"}
    got = {name: dtype for name, (dtype, _, _) in tensors.items()}
    if got != expected:
        fail(f"dtypes {got}, expected {expected}")
    if tensors["v"][1] != [1, 3] or tensors["q"][1] != [16, 16]:
        fail(f"shapes {tensors['v'][1]}, {tensors['q'][1]}")

    x = tensors["x"][2]
    ours = tensors["x.bf16"][2]
    theirs = x.to(torch.bfloat16)
    nan = torch.isnan(x)
    if not torch.equal(torch.isnan(ours), nan):
        fail("a NaN became a number or a number a NaN")
    if not torch.equal(torch.signbit(ours.float())[nan], torch.signbit(x)[nan]):
        fail("a NaN lost its sign")
    mismatch = (bits(ours) != bits(theirs)) & ~nan
    if mismatch.any():
        i = int(mismatch.nonzero()[0][1])
        fail(f"{int(mismatch.sum())} of {x.numel()} differ from torch, first: x bits "
             f"{int(bits(x)[0, i]) & 0xFFFFFFFF:#010x}: ours {int(bits(ours)[0, i]) & 0xFFFF:#06x}, "
             f"torch {int(bits(theirs)[0, i]) & 0xFFFF:#06x}")

    widened = tensors["all.bf16"][2].to(torch.float32)
    if not torch.equal(bits(widened), bits(tensors["all.f32"][2])):
        fail("Bfloat16ToFloat differs from torch")
    if not torch.equal(tensors["q"][2].flatten(), torch.arange(-128, 128, dtype=torch.int8)):
        fail(f"q is {tensors['q'][2]}")
    if tensors["v"][2].tolist() != [[1, -1, -128]]:
        fail(f"v is {tensors['v'][2].tolist()}")
    print(f"ok: {x.numel()} conversions match torch {torch.__version__}")


if __name__ == "__main__":
    main()
