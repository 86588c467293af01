"""The built-in exercises, one TOML spec each (read by `symnet.spec.load` by name)."""
