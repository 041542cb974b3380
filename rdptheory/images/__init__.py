"""rdptheory.images (under construction in this commit series)."""
