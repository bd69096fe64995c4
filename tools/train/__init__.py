"""Training: one harness (tools.train.harness) shared by every model, one task module per model."""
