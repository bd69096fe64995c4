"""Start a wider U-Net from a trained narrower one (Net2Net widening: Chen, Goodfellow and Shlens, "Net2Net:
accelerating learning via knowledge transfer", ICLR 2016), so that a model can grow without starting over.

``tools.train --init FOLDER`` with a config whose generator has the folder's layout (strides, residual units,
normalisation, upsampling, dropout, levels) and more channels per level: the wider generator starts out computing
exactly what the folder's generator computes. Every trained channel keeps its weights; each new channel gets the
fresh initial weights on its inputs and zero weights from it into every trained channel, so it adds nothing
until training gives it a use (the zeroed weights are trained like the others; no channel's output is a copy of
another's, so nothing needs breaking symmetry). Instance normalisation and the residual sums act channel by channel, and
MONAI's ``SkipConnection`` joins [its input, its submodule's output] along the channels: the layer after it reads
each part where the wider network puts it. Checked, not assumed: :func:`widen_into` runs both networks on one
small input and refuses a result that differs.
"""
from __future__ import annotations

from pathlib import Path

import torch
from monai.networks.layers.simplelayers import SkipConnection
from torch import nn

from model.config.pix2pix import Generator
from model.config.reading import load_config
from model.networks.pix2pix import build_generator
from model.weights import load_weights, read_config, verify_manifest, warm_start

CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
#: The widened network's output may differ from the narrow one's by this much (float32 sums in another order).
TOLERANCE = 1e-4


class WidenError(ValueError):
    """The two networks are not the same layout at two widths."""


def narrower_generator(wide: Generator, folder: Path) -> nn.Module | None:
    """The model folder's trained generator where ``wide`` is the same layout with more channels on some level
    (and fewer on none); None where the folder's generator is not that (the same widths: plain --init)."""
    config = read_config(folder)
    file = (config.get("weights") or {}).get("generator")
    narrow = getattr(getattr(load_config(Path(folder) / "config.json"), "networks", None), "generator", None)
    if not isinstance(narrow, Generator) or not file:
        return None
    layout = ("strides", "num_res_units", "norm", "dropout", "upsample")
    if (any(getattr(narrow, k) != getattr(wide, k) for k in layout) or len(narrow.channels) != len(wide.channels)
            or narrow.channels == wide.channels or any(n > w for n, w in zip(narrow.channels, wide.channels))):
        return None
    verify_manifest(folder, required=("config.json", file))
    return load_weights(build_generator(narrow), Path(folder) / file)


def widen_into(wide: nn.Module, narrow: nn.Module, check_shape=(16, 16, 16)) -> int:
    """Copy ``narrow``'s weights into ``wide`` (same module names, more channels) so that both compute the same
    function; returns the tensors written. ``check_shape`` (z, y, x; divisible by the networks' downsampling) is
    the input both are run on to check it."""
    narrow.to(next(wide.parameters()).device)
    wide_modules = dict(wide.named_modules())
    concat_split = skip_splits(wide, narrow)
    written = 0
    with torch.no_grad():
        for name, small in narrow.named_modules():
            big = wide_modules.get(name)
            if big is None or type(big) is not type(small):
                raise WidenError(f"{name or 'the network'}: {type(small).__name__} in the narrow network, "
                                 f"{type(big).__name__ if big is not None else 'nothing'} in the wide one")
            if isinstance(small, CONVOLUTIONS):
                written += widen_convolution(big, small, concat_split.get(name))
            else:
                for key, value in small.named_parameters(recurse=False):
                    target = getattr(big, key)
                    if target.shape != value.shape:
                        raise WidenError(f"{name}.{key}: shape {tuple(value.shape)} -> {tuple(target.shape)}, only "
                                         "convolutions can widen (a per-channel activation or an affine norm cannot)")
                    target.copy_(value)
                    written += 1
    check_same_function(wide, narrow, check_shape)
    return written


def skip_splits(wide: nn.Module, narrow: nn.Module) -> dict[str, tuple[int, int]]:
    """Convolution name -> (channels of the first part in the narrow network, in the wide one), for each
    convolution that reads a SkipConnection's output: the first convolution of the module after it, which reads
    [the connection's input, its submodule's output]. The first part's width is what the submodule reads."""
    splits = {}
    wide_modules = dict(wide.named_modules())
    for name, module in narrow.named_modules():
        children = list(module.named_children())
        for i, (child_name, child) in enumerate(children[:-1]):
            if isinstance(child, SkipConnection):
                prefix = f"{name}.{children[i + 1][0]}" if name else children[i + 1][0]
                reader = first_convolution(children[i + 1][1], prefix)
                inner = f"{name}.{child_name}.submodule" if name else f"{child_name}.submodule"
                splits[reader] = (input_channels(child.submodule), input_channels(wide_modules[inner]))
    return splits


def first_convolution(module: nn.Module, prefix: str) -> str:
    for name, sub in module.named_modules():
        if isinstance(sub, CONVOLUTIONS):
            return f"{prefix}.{name}" if name else prefix
    raise WidenError(f"{prefix}: no convolution after a skip connection")


def input_channels(module: nn.Module) -> int:
    for sub in module.modules():
        if isinstance(sub, CONVOLUTIONS):
            return sub.in_channels
    raise WidenError(f"{type(module).__name__}: no convolution")


def widen_convolution(big: nn.Module, small: nn.Module, split: tuple[int, int] | None) -> int:
    """One convolution's weights: the trained block in place, zero from new inputs into trained outputs."""
    transposed = isinstance(small, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
    out_dim, in_dim = (1, 0) if transposed else (0, 1)
    if small.kernel_size != big.kernel_size or small.stride != big.stride or small.groups != 1 or big.groups != 1:
        raise WidenError(f"{type(small).__name__}: kernel, stride or groups differ, or grouped")
    n_in, n_out = small.weight.shape[in_dim], small.weight.shape[out_dim]
    if split is None:
        inputs = torch.arange(n_in)
    else:  # [first part, second part]: each part starts where the wide network puts it
        first_narrow, first_wide = split
        inputs = torch.cat([torch.arange(first_narrow), first_wide + torch.arange(n_in - first_narrow)])
    outputs = torch.arange(n_out)
    if inputs.max() >= big.weight.shape[in_dim] or n_out > big.weight.shape[out_dim]:
        raise WidenError(f"{type(small).__name__} {tuple(small.weight.shape)} does not fit in "
                         f"{tuple(big.weight.shape)}")
    weight = big.weight.movedim((out_dim, in_dim), (0, 1))  # a view: (out, in, ...) whatever the layer
    weight[:n_out] = 0.0  # trained outputs read nothing from new inputs, and the trained inputs as trained:
    weight[outputs[:, None], inputs[None, :]] = small.weight.movedim((out_dim, in_dim), (0, 1))
    written = 1
    if small.bias is not None:
        big.bias[:n_out] = small.bias
        written += 1
    return written


def check_same_function(wide: nn.Module, narrow: nn.Module, shape) -> None:
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand((1, 1, *shape), generator=generator) * 2 - 1).to(next(wide.parameters()).device)
    modes = wide.training, narrow.training
    wide.eval(), narrow.eval()
    try:
        with torch.no_grad():
            difference = float((wide(x) - narrow(x)).abs().max())
    finally:
        wide.train(modes[0]), narrow.train(modes[1])
    if not difference <= TOLERANCE:
        raise WidenError(f"the widened network differs from the narrow one by {difference:g} (at most {TOLERANCE:g})")


def start_networks(nets: dict[str, nn.Module], folder: Path, spec) -> dict[str, tuple[int, int, str]]:
    """``tools.train --init FOLDER``: a generator the folder holds narrower is widened into ``nets`` (above);
    every other network the folder has weights for starts from each tensor whose name and shape match
    (model.weights.warm_start). Name -> (tensors written, tensors in the network, how)."""
    started = {}
    settings = getattr(getattr(spec, "networks", None), "generator", None)
    if "generator" in nets and isinstance(settings, Generator):
        narrow = narrower_generator(settings, folder)
        if narrow is not None:
            written = widen_into(nets["generator"], narrow, tuple(2 * d for d in settings.downsampling))
            started["generator"] = (written, len(nets["generator"].state_dict()),
                                    f"widened from channels {list(narrow.unet.channels)} (Net2Net: the trained "
                                    "channels kept, the new ones fresh and added with zero weight)")
    held = read_config(folder).get("weights") or {}
    rest = {name: net for name, net in nets.items() if name not in started and (name in held or not started)}
    for name, (copied, total) in (warm_start(rest, folder) if rest else {}).items():
        started[name] = (copied, total, "name and shape matched")
    return started
