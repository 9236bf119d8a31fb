"""Where spans go: the provider pipeline, the delivery processor, the exporters."""
