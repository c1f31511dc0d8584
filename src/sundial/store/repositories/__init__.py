"""Repositories: each turns domain objects into rows and back for one aggregate."""
