"""Training pipeline of the built-in default model (issue 4, DESIGN.md section 4)."""
