"""Benchmarks that back the README's performance figures; each is runnable with python -m or as a script."""
