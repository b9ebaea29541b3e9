"""The Move to Luleå knowledge base: topic files, their validation, and the tools built on them.

`knowledge/topics/*.yml` is the only place an answer lives. This package loads and validates
those files, generates the Rasa NLU data for topic questions, builds the search index and
answers "which topic is this question about?" (see docs/knowledge-format.md).
"""
