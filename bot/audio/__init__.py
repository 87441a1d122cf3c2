"""Loudspeaker audio: text-to-speech engines, the finished broadcast clip, the output folder and its cache.

Interfaces are in `bot.audio.base`; one module per engine (`edge`, `offline`); `loopback` is a stand-in for the
edge-tts service on 127.0.0.1 for tests and benchmarks; `produce` turns speech into the broadcast-ready MP3;
`studio` puts it together (engines with fallback, cache, `$BOT_AUDIO_DIR/<YYYY-MM>/`, playlists and play sheets).
"""
