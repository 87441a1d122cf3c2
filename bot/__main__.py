"""`python -m bot` and the `laba` command: the CLI of `bot.cli`, imported with the garbage collector paused."""

import gc


def main() -> None:
    # Importing the daemon creates some hundred thousand objects that live as long as the process and almost no
    # garbage: the collector's passes over them are a tenth of the start-up, for nothing.
    gc.disable()
    try:
        from bot.cli import main as cli
    finally:
        gc.enable()
    cli()


if __name__ == "__main__":
    main()
