"""Custom actions: thin glue between Rasa and the knowledge base (and, later, the lead store)."""
