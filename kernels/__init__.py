"""rdptheory.kernels (under construction in this commit series)."""
