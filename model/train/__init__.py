"""Training: one harness (model.train.harness) shared by every model, one task module per model."""
