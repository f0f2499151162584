"""Process-reward (PRM) data from our own samples, Math-Shepherd style: ``data`` labels every step prefix
of a samples version's rationales and writes a ``prm`` version; ``rollouts`` plans, runs and grades the
Monte Carlo continuations from each prefix."""
