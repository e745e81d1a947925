"""Tests of the live AWS source against a local moto server."""
