"""The features: each reads through the store, decides with a pure policy, and commits one
atomic plan (charging, the lifecycle, accounts, abuse, status, admin, statistics, jobs).
"""
