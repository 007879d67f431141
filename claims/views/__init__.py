"""Views: figures (pure functions of the model's state and events) and controllers (widgets)."""
