"""``python -m sentrial_otel.cli``."""

from sentrial_otel.cli import main

main(prog_name="sentrial-otel")
