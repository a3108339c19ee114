"""Helpers shared by the GitHub and Linear assets."""
