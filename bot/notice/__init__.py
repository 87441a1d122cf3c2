"""Reading the town's yearly notice (通知 with its 月度计划表) into a draft plan file.

Stages, each a frozen value handed to the next:
  reader (I/O: .txt / .docx / .doc via LibreOffice) → `Notice` (body lines + the plan table as cells)
  → `rows` (table → `PlanRow`s: months, wording, units text) → `draft` (activities, units matched against units.yaml,
  dated events, proof items, ids and titles) → `emit` (YAML text with a Chinese comment block).
Everything after the reader is pure: no files, no clock.
"""
