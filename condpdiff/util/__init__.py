"""Domain-free helpers: atomic file writes and dataclass-driven command lines."""
