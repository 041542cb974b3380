"""rdptheory.codec (under construction in this commit series)."""
