"""Reading the town's files (YAML and templates) into validated, frozen values. The only I/O before the core."""
