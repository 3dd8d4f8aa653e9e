"""The hardware layer: scales, printers, cash drawers and scanners.

`hw` never imports `appliance`. It speaks its own vocabulary (a print document,
a scale reading, device events) and the register translates. Layout:

- `ports.py`: what the register may ask of a device (`typing.Protocol`s) and
  `DeviceInfo`.
- `document.py`: the print document a receipt or label becomes.
- `protocols/`: sans-I/O codecs; bytes (and `now`) in, events out.
- `profiles.py` (+ `profile_schema.py`) + `config/devices/*.toml`: device
  knowledge as data.
- `drivers/`: a transport plus a codec plus a lifecycle.
- `discovery.py`: what is plugged in, matched to a profile; hot-plug diffs.
- `sim/`: simulators reachable by URL, with fault injection.
"""
