"""The style-continuous generalisation experiment (the paper's appendix C)."""
