"""Does this CPU's oneDNN give finite bf16 conv3d weight gradients? The check behind model.precision's rule that
bf16 training on a CPU runs only where oneDNN has AMX: freed memory is first filled with NaN, so a kernel that
reads memory it never wrote shows it as a NaN gradient.

    python scripts/bf16_conv_grad_check.py [TRIALS]
    ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 python scripts/bf16_conv_grad_check.py    # a CPU with AVX-512 BF16, no AMX

Prints, for oneDNN on (as PyTorch runs by default) and off (PyTorch's own kernels), how many of
TRIALS weight gradients of a bf16-autocast Conv3d(16 -> 1, kernel 4: the Pix2Pix discriminator's last layer)
have a NaN or Inf, and how far the bf16 gradient is from the float32 one.
"""
from __future__ import annotations

import argparse
import sys


def poison_freed_memory() -> None:
    import torch  # here, not at the top: --help answers without it

    for n in (1 << 12, 1 << 16, 1 << 20, 1 << 22):
        for dtype in (torch.float32, torch.bfloat16):
            poison = torch.full((n,), float("nan"), dtype=dtype)
            del poison


def weight_gradient(conv: "torch.nn.Conv3d", x: "torch.Tensor", bf16: bool, onednn: bool) -> "torch.Tensor":
    import torch

    conv.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = conv(x)
    poison_freed_memory()
    with torch.backends.mkldnn.flags(enabled=onednn):
        y.float().sum().backward()
    return conv.weight.grad.clone()


def main(trials: int = 10) -> int:
    import torch

    torch.manual_seed(0)
    for onednn in (True, False):
        bad, worst = 0, 0.0
        for _ in range(trials):
            x = torch.rand(2, 16, 3, 7, 7) * 2 - 1
            conv = torch.nn.Conv3d(16, 1, 4, stride=1, padding=1)
            reference = weight_gradient(conv, x, bf16=False, onednn=True)
            grad = weight_gradient(conv, x, bf16=True, onednn=onednn)
            if not torch.isfinite(grad).all():
                bad += 1
            else:
                worst = max(worst, float((grad - reference).abs().max() / reference.abs().max()))
        print(f"oneDNN {'on ' if onednn else 'off'}: {bad} of {trials} bf16 weight gradients not finite; "
              f"the finite ones within {worst:.4f} (relative to the largest) of float32")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python scripts/bf16_conv_grad_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("trials", nargs="?", type=int, default=10, help="weight gradients per kernel (default 10)")
    sys.exit(main(parser.parse_args().trials))
