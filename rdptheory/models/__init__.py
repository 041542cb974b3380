"""Image models for the diffusion codec: trained networks, their training, and adapters.

(Being built; see the issues tracker. Imports torch lazily.)
"""
