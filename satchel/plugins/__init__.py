"""Optional features built on the public surface (App hooks, services, `App.routes`,
`App.asgi_middleware`, `satchel.tools.probes`): each is a `register(app, config)` that wiring calls
when the boot configuration enables it. Core and adapters never import a plugin."""
