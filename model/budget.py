"""A case's time budget: grand-challenge.org stops a job at its time limit (20 minutes a case for SynthRAD)
and the case is lost, so a pipeline plans its work to end inside a budget below that limit.

The budget of a case counts from the moment the container starts reading it (``--time-budget SECONDS``,
else the model folder's ``inference.time_budget_s``, else :data:`DEFAULT_SECONDS`). A pipeline measures its
own speed on the case and the machine at hand, then:

* brain (sampling): times its first DDIM step, its conditioning embedding and one autoencoder window, and
  lowers the number of samples first, then the DDIM steps (never below ``sampler.min_samples`` /
  ``sampler.min_steps``), to what fits; after every sample it checks again with that sample's real time;
* pelvis (sliding windows): times its first window batch and says whether the whole volume fits; a
  deterministic network has nothing to trade, so it runs on either way.

Where even the floor does not fit, the floor runs and the log says by how much it is expected to overrun:
an sCT late by a little may still land inside the platform's hard limit, no sCT never does. Planning keeps
:data:`MARGIN` of the time left in hand for what follows (writing the sCT) and for noisy timings.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import torch

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 900.0  # grand-challenge allows 1200 s a case for SynthRAD: the rest is start-up and slack
MARGIN = 0.1  # plan to use at most 90 % of the time left


def positive_seconds(value) -> bool:
    """Whether ``value`` is a finite number of seconds above 0 (not a bool, not a string)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@dataclass
class TimeBudget:
    """``seconds`` for one case, counted from its creation on ``clock``."""

    seconds: float
    clock: Callable[[], float] = time.perf_counter
    start: float = field(default=None)

    def __post_init__(self):
        if not positive_seconds(self.seconds):
            raise ValueError(f"a time budget must be a positive number of seconds, not {self.seconds!r}")
        if self.start is None:
            self.start = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def available(self) -> float:
        """What planning may spend from now: the time left less the margin."""
        return max(0.0, self.remaining() - MARGIN * max(0.0, self.remaining()))


def budget_seconds(option: float | None, config) -> tuple[float, str]:
    """(seconds, where they come from): ``--time-budget`` when given, else the model folder's
    ``inference.time_budget_s`` (checked positive by model.config), else :data:`DEFAULT_SECONDS`."""
    if option is not None:
        return float(option), "--time-budget"
    value = config.inference.time_budget_s
    if value is None:
        return DEFAULT_SECONDS, "default"
    return value, config.source


def device_clock(device: torch.device) -> float:
    """A clock reading after the device has finished its queued work (CUDA kernels run asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def synchronized_clock(device: torch.device) -> Callable[[], float]:
    """:func:`device_clock` for ``device``, as a clock to call."""
    return partial(device_clock, device)


def fit_samples_and_steps(available_s: float, step_s: float, overhead_s: float, samples: int, steps: int,
                          min_samples: int, min_steps: int) -> tuple[int, int]:
    """The most (samples, steps) whose time ``samples x (steps x step_s + overhead_s)`` fits ``available_s``:
    samples lowered first, down to ``min_samples``, then steps, down to ``min_steps``; the floor where even
    it does not fit."""
    def cost(s: int, n: int) -> float:
        return s * (n * step_s + overhead_s)

    s = samples
    while s > min_samples and cost(s, steps) > available_s:
        s -= 1
    if cost(s, steps) <= available_s:
        return s, steps
    n = math.floor((available_s / s - overhead_s) / step_s) if step_s > 0 else steps
    return s, max(min_steps, min(steps, n))


@dataclass
class SamplingPlan:
    """Samples x DDIM steps for one case, lowered to fit its budget (none: the configured ones, untouched)."""

    samples: int
    steps: int
    min_samples: int
    min_steps: int
    budget: TimeBudget | None = None
    configured: tuple[int, int] = field(init=False)
    timed: bool = field(default=False, init=False)  # planned from a first step already

    def __post_init__(self):
        self.min_samples = min(self.min_samples, self.samples)
        self.min_steps = min(self.min_steps, self.steps)
        self.configured = (self.samples, self.steps)

    def describe(self) -> str:
        return f"{self.samples} sample(s) x {self.steps} DDIM steps"

    def after_first_step(self, embed_s: float, step_s: float, decode_s: float) -> bool:
        """Plan from the first sample's timings (conditioning embedding, one DDIM step, estimated decoding);
        True when the steps changed (the first sample must start again on the new schedule)."""
        if self.budget is None:
            return False
        self.timed = True
        available = self.budget.available() + embed_s + step_s  # the first sample's time so far counts in its cost
        samples, steps = fit_samples_and_steps(available, step_s, embed_s + decode_s, self.samples, self.steps,
                                               self.min_samples, self.min_steps)
        estimate = samples * (steps * step_s + embed_s + decode_s)
        text = (f"time budget {self.budget.seconds:g} s ({self.budget.remaining():.1f} s left): DDIM step {step_s:.3f} s, "
                f"conditioning {embed_s:.3f} s, decoding ~{decode_s:.2f} s a sample")
        changed = steps != self.steps
        if (samples, steps) == (self.samples, self.steps):
            log.info("%s: %s fit (~%.1f s)", text, self.describe(), estimate)
        else:
            self.samples, self.steps = samples, steps
            log.warning("%s: lowered to %s (configured %d x %d, floor %d x %d), ~%.1f s", text, self.describe(),
                        *self.configured, self.min_samples, self.min_steps, estimate)
        if estimate > available:
            log.warning("time budget: even the floor, %s, needs ~%.1f s where %.1f s are left: it runs anyway and may "
                        "overrun", self.describe(), estimate, self.budget.remaining())
        return changed

    def after_sample(self, done: int, sample_s: float) -> None:
        """After ``done`` samples, the last of which took ``sample_s``: fewer samples where the rest would overrun."""
        if self.budget is None or done >= self.samples:
            return
        fit = math.floor(self.budget.available() / sample_s) if sample_s > 0 else self.samples
        samples = max(self.min_samples, min(self.samples, done + fit))
        if samples < self.samples:
            log.warning("time budget: a sample took %.1f s and %.1f s are left: %d sample(s) instead of %d",
                        sample_s, self.budget.remaining(), samples, self.samples)
            self.samples = samples


def windows_per_axis(size: int, window: int, overlap: float) -> int:
    """How many windows MONAI's sliding-window inference places along one axis (the volume padded to the window
    where smaller; windows ``int(window x (1 - overlap))`` apart, the last one flush with the end)."""
    if size <= window:
        return 1
    interval = max(int(window * (1 - overlap)), 1)
    return math.ceil((size - window) / interval) + 1


def window_count(shape, window, overlap: float) -> int:
    return math.prod(windows_per_axis(int(s), int(w), overlap) for s, w in zip(shape, window))


@dataclass
class WindowPace:
    """Times the first batch of a sliding-window pass and says, once, whether the whole pass fits the budget."""

    budget: TimeBudget | None
    windows: int
    clock: Callable[[], float]
    what: str = "sliding windows"
    started: float | None = None
    reported: bool = False

    def before_batch(self) -> None:
        if self.started is None and self.budget is not None:
            self.started = self.clock()

    def after_batch(self, batch: int) -> None:
        if self.reported or self.started is None:
            return
        self.reported = True
        first = self.clock() - self.started
        batches = math.ceil(self.windows / max(1, batch))
        estimate = first * batches
        text = (f"time budget {self.budget.seconds:g} s: {self.what}: {self.windows} windows in {batches} batch(es), "
                f"the first {first:.2f} s, ~{estimate:.1f} s in all, {self.budget.remaining():.1f} s left")
        if estimate > self.budget.available() + first:
            log.warning("%s: this case will not fit its budget (nothing to lower in a deterministic network); "
                        "it runs on", text)
        else:
            log.info("%s: fits", text)
