"""The town office's web console and the units' upload page (aiohttp + Jinja2, plain CSS, a little JS).

`bot.web.server.console_app` builds the aiohttp application over a `Console` (the store, the ledger's actions, the
clock); `bot.web.hook.console_running` serves it next to the daemon.
"""
