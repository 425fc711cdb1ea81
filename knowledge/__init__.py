"""The SOP corpus and its search (pure, in memory; no Flask, no database writes)."""
