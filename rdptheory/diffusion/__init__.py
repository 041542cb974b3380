"""rdptheory.diffusion (under construction in this commit series)."""
