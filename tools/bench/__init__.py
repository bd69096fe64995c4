"""Benchmarks: ``python -m tools.bench <mode> ...`` (``--help`` after a mode for its options).

Modes, one module each:

- ``case`` (tools.bench.case): one pipeline on a synthetic volume of a given size, seconds and peak memory;
- ``sampling-step`` (tools.bench.sampling_step): one brain sampling step of the networks a config describes;
- ``attention`` (tools.bench.attention): that step with SDPA against MONAI's explicit attention, side by side;
- ``training-steps`` (tools.bench.training_steps): one training step of each brain stage, float32 against bfloat16;
- ``training-data`` (tools.bench.training_data): training at scale on a dataset - the case cache, the sampler,
  a training run's peak memory.

Shared by them: tools.bench.common (the machine options and the figures' summary), tools.bench.synthetic (the
synthetic volumes) and tools.bench.random_weights (model folders of random weights).
"""
