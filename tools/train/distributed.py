"""Distributed training's setup: rank, world size and device from torchrun's environment (gloo on the CPU, NCCL on
GPUs), the barrier, and the check that every process ends with the same weights."""
from __future__ import annotations

import gc
import logging
import os
from datetime import timedelta

import torch
import torch.distributed as dist

log = logging.getLogger("train")


class Distributed:
    """Rank, world size and device, from torchrun's environment (one process when absent)."""

    def __init__(self, device_name: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
        self.device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)
        if self.world > 1:
            # Rank 0 validates whole volumes while the others wait: allow for it.
            dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=timedelta(hours=2))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self, finished: bool) -> None:
        """Leave the process group. After a finished run every process first waits for the others (rank 0 exports
        while the rest are done), then the group is destroyed with nothing left holding it (``gc`` collects the
        cycles the DDP wrappers were in): every process tears it down at the same point, while its interpreter is
        alive. Before, a rank done early destroyed the group while the DDP wrappers still held it, and it went at
        interpreter exit; once in CI such a rank aborted there just as rank 0 finished its export ("terminate
        called without an active exception", SIGABRT; not reproduced in 51 two-process runs here). After an
        error no process waits: torchrun stops the others."""
        if self.world == 1 or not dist.is_initialized():
            return
        if finished:
            dist.barrier()
        gc.collect()
        dist.destroy_process_group()

    def check_identical(self, nets: dict) -> None:
        """After DDP training every rank must hold the same weights; compare a checksum per network."""
        if self.world == 1:
            return
        for name, net in nets.items():
            checksum = torch.stack([p.detach().double().sum() for p in net.parameters()]).sum().reshape(1)
            low, high = checksum.clone(), checksum.clone()
            dist.all_reduce(low, op=dist.ReduceOp.MIN)
            dist.all_reduce(high, op=dist.ReduceOp.MAX)
            if low.item() != high.item():
                raise RuntimeError(f"{name}: weights differ between processes ({low.item()} != {high.item()})")
        if self.main:
            log.info("weights identical on all %d processes", self.world)
