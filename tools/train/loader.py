"""Training batches ahead of the step: ``training.workers`` processes cut patches while the network trains.

All randomness stays in the training process: its sampler draws each patch's
(case, centre, flip) from its seeded generator, in order, and the workers only
cut the patches those draws describe (:meth:`PatchSampler.cut`). So the batches
are the same, in the same order, with any number of workers, and the
checkpointed generator state is the one *before the first draw not yet
trained on* (the loader draws ahead; it remembers the state before each draw):
a resumed run continues exactly. Workers are forked (the cached cases' open files are
shared, not copied); on CUDA the batches come in pinned memory for
non-blocking copies.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator

from torch.utils.data import DataLoader, Dataset


class _Cut(Dataset):
    def __init__(self, sampler):
        self.sampler = sampler

    def __getitem__(self, drawn):
        return self.sampler.cut(drawn)

    def __len__(self) -> int:  # never asked for by an iterator-driven loader; required by the interface
        raise TypeError("an endless stream of patches")


class Batches:
    """An endless iterator of training batches from ``sampler`` (anything with ``sample()`` and ``rng``; with
    ``draw()``/``cut()`` as well, ``workers`` processes cut ahead)."""

    def __init__(self, sampler, workers: int = 0, pin_memory: bool = False):
        self.sampler = sampler
        self.workers = workers if hasattr(sampler, "cut") else 0  # the brain's latent sampler draws with torch
        self._states: deque = deque()  # generator state before each draw handed to the loader, not yet consumed
        self._iterator = None
        if self.workers:
            self._loader = DataLoader(_Cut(sampler), batch_size=None, sampler=self._draws(), num_workers=self.workers,
                                      pin_memory=pin_memory, prefetch_factor=2, multiprocessing_context="fork")

    def _snapshot(self) -> dict:
        """The sampler's state: its own ``state()`` where it has one (the data engine's counts patches too), else
        its generator's."""
        return self.sampler.state() if hasattr(self.sampler, "state") else self.sampler.rng.bit_generator.state

    def _draws(self) -> Iterator:
        while True:
            self._states.append(self._snapshot())
            yield self.sampler.draw()

    def __next__(self):
        if not self.workers:
            return self.sampler.sample()
        if self._iterator is None:  # started on first use: after a resumed run has restored the generator
            self._iterator = iter(self._loader)
        batch = next(self._iterator)
        self._states.popleft()
        return batch

    def rng_state(self) -> dict:
        """The generator state to checkpoint: before the next batch this run would train on."""
        return self._states[0] if self._states else self._snapshot()

    def set_rng_state(self, state: dict) -> None:
        if self._iterator is not None:
            raise RuntimeError("restore the generator before the first batch")
        if hasattr(self.sampler, "set_state"):
            self.sampler.set_state(state)
        else:
            self.sampler.rng.bit_generator.state = state

    def close(self) -> None:
        self._iterator = None  # the loader's workers stop with their iterator

