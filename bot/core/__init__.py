"""Layer 0: settings, shared data types and text utilities. Imports nothing of ours."""
