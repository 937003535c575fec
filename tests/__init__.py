"""Storestack's tests."""
