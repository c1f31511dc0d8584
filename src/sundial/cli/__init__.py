"""The `sundial` command."""
