"""rdptheory.proofs_check (under construction in this commit series)."""
