"""Experiments: the measurements behind the report, the figures and the benchmarks.

Only the CLI, the figure scripts (:mod:`rdptheory.figures`) and the claim checks
(:mod:`rdptheory.proofs_check`) import this package; the library never does.

- :mod:`~rdptheory.experiments.traversal`, :mod:`~rdptheory.experiments.operating_point`: the
  Gaussian codec's empirical RDP traversal (real bitstreams, one encode, many decodes) and its
  measured operating points next to R(D, P);
- :mod:`~rdptheory.experiments.image_eval`: image-codec evaluation (RD / RP curves, ρ sweeps,
  CompressAI-style JSON) with the classical baselines of :mod:`~rdptheory.experiments.baselines`
  (Pillow JPEG and WebP); :mod:`~rdptheory.experiments.dataset_eval`: the same over a dataset,
  resumable and sharded;
- :mod:`~rdptheory.experiments.image_report`, :mod:`~rdptheory.experiments.plots`: the image
  section of the report;
- :mod:`~rdptheory.experiments.style`: the one figure style (the only module that sets
  matplotlib styling) and what every figure script shares (CSV first, then PNG/PDF through
  :func:`~rdptheory.experiments.style.finish`, the command line through
  :func:`~rdptheory.experiments.style.run_script`).
"""
