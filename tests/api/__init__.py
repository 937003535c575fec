"""Fast tests of the control plane against an in-memory fake fleet (no cluster)."""
