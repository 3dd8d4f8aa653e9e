"""The screens: one module (and .kv file) each, drawing a view model's state and calling
its actions. None holds business logic: what to show comes ready in the state."""
