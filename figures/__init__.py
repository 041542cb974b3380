"""rdptheory.figures (under construction in this commit series)."""
