"""The prepared GPU check (``python -m tools.gpu_check``)."""
