"""Prints the reference of AugmentationTest.RotationMatchesPyTorch.

torchvision's rotate(img, angle, BILINEAR) on a tensor, its steps written out
with torch (torchvision itself is not needed): the inverse affine matrix of
_get_inverse_affine_matrix(center=[0, 0], angle=-angle), the grid of
_gen_affine_grid, and grid_sample(mode="bilinear", padding_mode="zeros",
align_corners=False). mnemo extends the image by `fill` instead of blending
with torchvision's mask, which is grid_sample of (image - fill), plus fill.

  python3 tests/numerics/rotation_reference.py
"""
import math

import torch
import torch.nn.functional as F


def inverse_rotation(angle):
    # torchvision.transforms.functional._get_inverse_affine_matrix with
    # center (0, 0), translate (0, 0), scale 1, shear (0, 0), for -angle.
    rot = math.radians(-angle)
    a, b = math.cos(rot), -math.sin(rot)
    c, d = math.sin(rot), math.cos(rot)
    return [d, -b, 0.0, -c, a, 0.0]


def affine_grid(theta, w, h):
    # torchvision.transforms._functional_tensor._gen_affine_grid.
    base = torch.empty(1, h, w, 3, dtype=theta.dtype)
    base[..., 0].copy_(torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w, dtype=theta.dtype))
    base[..., 1].copy_(
        torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h, dtype=theta.dtype).unsqueeze_(-1))
    base[..., 2].fill_(1)
    rescaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], dtype=theta.dtype)
    return base.view(1, h * w, 3).bmm(rescaled).view(1, h, w, 2)


def rotate(img, angle, fill):
    c, h, w = img.shape
    theta = torch.tensor(inverse_rotation(angle), dtype=torch.float64).reshape(1, 2, 3)
    grid = affine_grid(theta, w, h)
    out = F.grid_sample((img - fill).unsqueeze(0), grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out[0] + fill


def main():
    c, h, w = 2, 4, 5
    img = torch.zeros(c, h, w, dtype=torch.float64)
    for ch in range(c):
        for y in range(h):
            for x in range(w):
                img[ch, y, x] = 100 * ch + 10 * y + x + 1  # Numbered() of the test
    for angle in (25.0, -130.0):
        values = rotate(img, angle, -2.0).flatten().tolist()
        print(f"// {angle} degrees")
        print("{" + ", ".join(f"{v:.6f}" for v in values) + "}")


if __name__ == "__main__":
    main()
