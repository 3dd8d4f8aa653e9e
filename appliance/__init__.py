"""The register appliance: a point-of-sale register that never stops selling."""

__version__ = "0.1.0"
