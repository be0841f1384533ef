"""The TNM staging assistant: the TNM form dock, its stage group beside the ensemble's result."""
