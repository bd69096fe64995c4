"""DICOM in and out: an MR series read into the case logic's image, the sCT written as a CT series a planning
system imports (``python -m model.dicom``)."""
