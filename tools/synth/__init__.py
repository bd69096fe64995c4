"""The data engine: training pairs drawn anew from label maps, so that a network learns anatomy, not one look.

The idea is SynthSeg's and SynthSR's (Billot et al. 2023, Iglesias et al. 2023):
every training sample is rendered from a tissue label map with a contrast, a
texture and a shape drawn at random for that sample, so the network never sees
the same MR twice and has to read anatomy.

- :mod:`tools.synth.anatomy`: label maps from the phantom generator's parametric
  solids with wide anatomy ranges (``tools.phantom.pelvis.ENGINE_PELVIS``: thin to
  obese, empty to full bladder, no to large gas, bone sizes), plus fat strands
  and septa; no real image goes in.
- :mod:`tools.synth.spatial`: per sample an affine (rotation, scaling) and a smooth
  elastic deformation of the label patch.
- :mod:`tools.synth.contrast`: per sample an MR intensity for every label, from
  a sequence family (T1, T2, PD, fat-suppressed, inverted) or in any order
  (random), and the CT's per-tissue HU.
- :mod:`tools.synth.render`: the patch pair: MR with within-tissue texture,
  partial volume, gamma, bias field, lower resolution and Rician noise; CT with
  trabecular texture, partial volume and noise.
- :mod:`tools.synth.pool`: the anatomies live in the case cache, a sliding pool
  refreshed as training runs (memory flat); :class:`~tools.synth.pool.EngineSampler`
  is the training tasks' sampler (``training.engine``).
"""
