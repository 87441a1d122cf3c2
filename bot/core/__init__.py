"""The pure core: calendar -> plan -> render.

No I/O here: files are read by `bot.config`, sends go through `bot.pipeline`.
"""
