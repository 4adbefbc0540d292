"""Speech: phrase tables, recognisers and synthesisers (thin adapters around engines)."""
