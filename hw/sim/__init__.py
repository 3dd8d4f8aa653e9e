"""Simulated devices reachable through the register's normal transports, with fault injection.

Serial devices (scales, scanners) are simulated on real pseudo-terminals, so a
production driver opens them by path exactly as it opens `/dev/ttyUSB0`; the
demo, the tests and a field tech without the hardware all use the same code.
Each simulator lets a fault be provoked while it runs (garbage, a stall, an
unplugged cable) to see what the register shows when it happens for real.
"""
