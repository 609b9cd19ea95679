"""Reliability and security suite: contract, fuzzing, injection, faults, auth, load (docs/reliability.md)."""
