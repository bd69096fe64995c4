"""MR -> synthetic CT for SynthRAD2023 Task 1 (pelvis: 3D Pix2Pix; brain: latent diffusion)."""
