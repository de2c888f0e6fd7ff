"""Bolt listeners, one module per kind (commands, events, actions), each exposing
`register(app, ...)` with exactly the collaborators its handlers use."""
