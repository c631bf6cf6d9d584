"""The vocabulary: money, time, ids, errors, prices, the configuration's and the contract's
models. Plain Python and pydantic; nothing here imports a Google or Firebase library.
"""
