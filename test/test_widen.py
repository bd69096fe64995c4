"""tools.train.widen: a narrower trained U-Net widened into a wider one (Net2Net) computes what it computed."""
from __future__ import annotations

import copy

import pytest
import torch

from conftest import TINY_CONFIG, typed, write_model_folder
from model.config import Discriminator
from model.config.pix2pix import Generator
from model.networks.pix2pix import build_discriminator, build_generator
from tools.train import widen
from tools.train.widen import WidenError, narrower_generator, start_networks, widen_into


def net(channels, upsample="transpose", res_units=2, seed=0):
    torch.manual_seed(seed)
    built = build_generator(Generator(channels=tuple(channels), strides=(2, 2), num_res_units=res_units,
                                      upsample=upsample))
    with torch.no_grad():  # not the initial weights: biases and all moved, as after training
        for p in built.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return built


@pytest.mark.parametrize("upsample", ["transpose", "resize_conv"])
@pytest.mark.parametrize("res_units", [0, 1, 2])
def test_a_widened_unet_computes_what_the_narrow_one_did(upsample, res_units):
    narrow = net((4, 8, 16), upsample, res_units)
    wide = net((8, 8, 24), upsample, res_units, seed=1)  # one level kept, two widened by different amounts
    assert widen_into(wide, narrow) == len(narrow.state_dict())
    x = torch.rand(2, 1, 8, 20, 24) * 2 - 1  # not the check's input
    with torch.no_grad():
        assert torch.allclose(wide(x), narrow(x), atol=1e-5)
    top = wide.unet.model[0].conv.unit0.conv if res_units else wide.unet.model[0].conv
    reader = dict(wide.named_parameters())["unet.model.1.submodule.0.conv.unit0.conv.weight" if res_units
                                           else "unet.model.1.submodule.0.conv.weight"]  # level 1 reads level 0
    optimiser = torch.optim.SGD(wide.parameters(), lr=0.1)
    wide(x).abs().mean().backward()
    assert reader.grad[:8, 4:].abs().sum() > 0  # trained outputs from new inputs: zero now, learning at once
    assert top.weight.grad[4:].abs().sum() == 0  # a new channel's inputs wait until it is used (Net2Net)
    optimiser.step()
    optimiser.zero_grad()
    wide(x).abs().mean().backward()
    assert top.weight.grad[4:].abs().sum() > 0

def test_a_skip_connection_read_in_the_wrong_place_is_caught(monkeypatch):
    monkeypatch.setattr(widen, "skip_splits", lambda wide, narrow: {})  # as if the join were not known
    with pytest.raises(WidenError, match="differs from the narrow one by"):
        widen_into(net((4, 8, 16), seed=1), net((2, 4, 8)))


def test_layouts_that_do_not_widen_are_refused():
    with pytest.raises(WidenError, match="does not fit"):
        widen_into(net((2, 4, 8)), net((4, 8, 16)))  # narrower, not wider
    with pytest.raises(WidenError, match="in the narrow network"):
        widen_into(net((8, 16, 32), res_units=1), net((4, 8, 16), res_units=2))


def test_a_folder_is_widened_only_from_the_same_layout_with_fewer_channels(tmp_path):
    folder = write_model_folder(tmp_path / "m")  # channels [4, 8], strides [2], one residual unit
    wider = Generator(channels=(8, 16), strides=(2,), num_res_units=1)
    assert isinstance(narrower_generator(wider, folder), torch.nn.Module)
    for other in (Generator(channels=(4, 8), strides=(2,), num_res_units=1),  # the same: plain --init
                  Generator(channels=(2, 8), strides=(2,), num_res_units=1),  # one level narrower
                  Generator(channels=(8, 16), strides=(2,), num_res_units=2),  # another layout
                  Generator(channels=(8, 16), strides=(2,), num_res_units=1, upsample="resize_conv")):
        assert narrower_generator(other, folder) is None


def test_init_widens_the_generator_and_leaves_a_network_the_folder_lacks(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    config = copy.deepcopy(TINY_CONFIG)
    config["networks"]["generator"]["channels"] = [8, 16]
    spec = typed(config)
    nets = {"generator": build_generator(spec.networks.generator),
            "discriminator": build_discriminator(Discriminator(channels=4, num_layers_d=2))}
    before = copy.deepcopy(nets["discriminator"].state_dict())
    started = start_networks(nets, folder, spec)
    assert list(started) == ["generator"]
    written, total, how = started["generator"]
    assert written == total and how.startswith("widened from channels [4, 8]")
    assert all(torch.equal(v, before[k]) for k, v in nets["discriminator"].state_dict().items())
    same = {"generator": build_generator(Generator(channels=(4, 8), strides=(2,), num_res_units=1))}
    assert start_networks(same, folder, typed(TINY_CONFIG))["generator"][2] == "name and shape matched"
