"""Hubs, end users and connect sessions come with the embed work (SPEC §8)."""
