"""Drivers: a transport plus a codec plus a lifecycle, one device kind per module."""
