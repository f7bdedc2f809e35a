"""Table cells from score caches (selection without leakage, baselines) and the tables, for
metrics where higher or lower is better."""
