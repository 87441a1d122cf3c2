"""Garbage sorting questions: the shipped dictionary (GB/T 19095-2019's four categories), a town's additions in its
`sorting.yaml`, a tolerant lookup that never guesses, and the answers villagers get in their groups.

Modules: `model` (values), `schema` (the YAML files), `normalize` and `dictionary` (the pure lookup), `files`
(reading the data), `question` (is a message a question), `answers` (the inbound handler and its `handlers`).
"""
