"""The firing engine: what a due schedule does (planner) and the loop that drives it."""
