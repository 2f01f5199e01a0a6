"""Layer 0, what the user gives: the typed, validated params, the output layout, and the error type for bad input.

Nothing here imports another layer of the package.
"""
