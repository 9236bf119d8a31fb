"""The code snippets of the Sentrial sessions doc, copied verbatim (a test checks the copy)."""
