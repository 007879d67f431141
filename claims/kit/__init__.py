"""The kit's own tools: the benchmark, the install doctor, the compiled-core guard."""
