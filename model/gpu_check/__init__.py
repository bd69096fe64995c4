"""The prepared GPU check (``python -m model.gpu_check``)."""
