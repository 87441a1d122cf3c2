"""Garbage sorting questions: the shipped dictionary (GB/T 19095-2019's four categories), a town's additions, a
tolerant lookup, and the answers villagers get in their groups."""
