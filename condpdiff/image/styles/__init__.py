"""Style data: style folders (made or given), the train / reference split, the style condition."""
