"""Certified numerical rate-distortion-perception solvers (discrete and discretised sources).

(Being built; see the issues tracker. numpy/scipy only.)
"""
