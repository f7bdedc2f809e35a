"""Diagnoses over cached results: candidates vs checkpoints, parameter spread, stage times."""
