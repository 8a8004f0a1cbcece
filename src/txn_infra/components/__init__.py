"""Pulumi components, one module per layer. A stack program builds these and exports."""
