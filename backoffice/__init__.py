"""The back office: the broker-side consumer that stores each sale exactly once.

Deployed on a server, never on the register image. It re-derives every sale
with the same `appliance.domain` code the register ran.
"""
