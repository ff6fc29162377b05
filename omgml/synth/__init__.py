"""Offline synth: the real program under a recording mock engine, turned into manifests."""
