"""How the process ends and forks: one exit budget (atexit, SIGTERM, a multiprocessing
child's exit), the signal watcher, and pools that carry the span and session into their work."""
