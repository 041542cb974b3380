"""rdptheory.rcc (under construction in this commit series)."""
