"""Pseudonymised cases, therapy lines, meetings and decisions (built by the cases issue)."""
