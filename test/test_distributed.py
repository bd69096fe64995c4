"""tools.train.distributed: how the processes of a torchrun run leave their process group (gloo, 2 CPU processes)."""
import json
import os
import socket
import time

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from tools.train.distributed import Distributed

EXPORT_SECONDS = 1.5  # what rank 0 spends exporting while the other process is done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _leave(rank: int, port: int, finished: bool, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    group = Distributed("cpu")
    start = time.monotonic()
    if rank == 0:
        time.sleep(EXPORT_SECONDS)
    group.close(finished)
    with open(f"{out}/{rank}.json", "w") as f:
        json.dump({"closed_after": time.monotonic() - start, "initialized": dist.is_initialized()}, f)


def _run(tmp_path, finished: bool) -> dict:
    mp.start_processes(_leave, args=(_free_port(), finished, str(tmp_path)), nprocs=2, start_method="spawn")
    return {rank: json.loads((tmp_path / f"{rank}.json").read_text()) for rank in (0, 1)}


@pytest.mark.slow
def test_after_a_finished_run_every_process_waits_for_the_export_then_destroys_the_group(tmp_path):
    done = _run(tmp_path, finished=True)
    assert done[1]["closed_after"] >= EXPORT_SECONDS  # rank 1 left only once rank 0 had exported
    assert not done[0]["initialized"] and not done[1]["initialized"]


@pytest.mark.slow
def test_after_an_error_no_process_waits(tmp_path):
    done = _run(tmp_path, finished=False)
    assert done[1]["closed_after"] < EXPORT_SECONDS
    assert not done[0]["initialized"] and not done[1]["initialized"]
