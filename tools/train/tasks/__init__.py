"""Training tasks, one per trained model (a model family has one, or one per stage): the registry. What a task
supplies, and the base class: tools.train.tasks.base.
"""
from __future__ import annotations


def task_classes() -> dict:
    """The registry: task name -> TrainingTask class (``python -m tools.train <name>``)."""
    from tools.train.tasks.autoencoder import AutoencoderTask
    from tools.train.tasks.latent_stages import ControlNetTask, DiffusionTask
    from tools.train.tasks.pix2pix import Pix2PixTask

    return {task.name: task for task in (Pix2PixTask, AutoencoderTask, DiffusionTask, ControlNetTask)}
