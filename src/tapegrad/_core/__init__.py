"""Floor 1: the Tensor data structure, graph nodes, mode state and error types."""
