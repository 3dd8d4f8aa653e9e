"""The view models of every screen: plain Python, no kivy, no business logic.

Each view model shows its whole visible state as an immutable snapshot (`state`),
tells subscribers when it changes (`subscribe`), and offers the cashier's actions
as methods that call `appliance.register.Register` through an injected `Runner`
(a worker thread under Kivy, a synchronous one in tests). `session.Session` builds
them all; the Kivy layer only binds widgets to states and buttons to actions.
"""
