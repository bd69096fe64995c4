"""Training tasks, one per trained model (a model family has one, or one per stage). Each family declares its
tasks by name in the family table (model.config.FAMILIES, the one registry); what a task supplies, and the base
class: tools.train.tasks.base.
"""
from __future__ import annotations

from model.config import FAMILIES, load_object


def task_classes() -> dict:
    """Task name -> TrainingTask class (``python -m tools.train <name>``), every family's, in the order the
    families declare them (imported here, when a run starts)."""
    tasks = (load_object(name) for family in FAMILIES.values() for name in family.tasks)
    return {task.name: task for task in tasks}
