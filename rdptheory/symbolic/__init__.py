"""rdptheory.symbolic (under construction in this commit series)."""
