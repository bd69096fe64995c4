"""The container contract's names: where grand-challenge.org puts a job's inputs and expects its outputs
(../shared/notes/interface.md). The job (model.container) and the sample-case comparison (model.compare) both
read them from here.
"""
from pathlib import Path

MRI_DIR = Path("images/mri")
BODY_DIR = Path("images/body")
SCT_DIR = Path("images/synthetic-ct")
UNCERTAINTY_DIR = Path("images/synthetic-ct-uncertainty")  # only with --uncertainty-samples
REGION_FILE = "region.json"
RESULTS_FILE = "results.json"
# results.json names the files as the platform sees them, whatever the local folders.
PLATFORM_INPUT = Path("/input")
PLATFORM_OUTPUT = Path("/output")
# The image's bundled weights: beside process.py and model/ (/opt/algorithm/weights in the image).
BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
