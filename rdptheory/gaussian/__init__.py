"""rdptheory.gaussian (under construction in this commit series)."""
