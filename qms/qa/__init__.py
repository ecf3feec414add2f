"""QA scoring of interactions: rubrics, sampling, evaluations, calibration, disputes."""
