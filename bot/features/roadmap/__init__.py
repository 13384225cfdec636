"""Personal study roadmaps: build.py assembles a plan from the catalog, tracks, planner, grounding and prose."""
