"""The logic of the app's modular inputs (bin/ holds only their splunklib entry points)."""
