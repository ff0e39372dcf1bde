"""Process tooling for the demo, the tests and the benchmarks: a private Redis,
managed child processes, the simulator in a thread or a process, a migrated database
to copy, and the Redis + simulator + database + feed stack. Not part of the product:
nothing in `options`, `feed`, `api`, `dashboard` or `tracker_project` imports it, and
the production image leaves it out.
"""
