"""Self-contained generator folders and the ``condpdiff generate`` command.

``folder``: the folder format (read, check, sample); ``export``: write one from a trained
generator; ``text`` / ``images``: a condition from the user's examples or images, and the
adapter the base model loads; ``command``: the ``generate`` subcommand.
"""
