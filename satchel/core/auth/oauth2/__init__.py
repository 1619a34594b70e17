"""OAuth2 / OpenID Connect sign-in (PocketBase's `auth-with-oauth2`): providers, the flow, the redirect.

`config` reads a collection's provider entries, `provider` is the shared code-for-token exchange,
`oidc` and `presets` are the providers PocketBase ships, `registry` maps names to them, `flow`
signs a record in, `methods` lists providers for `auth-methods` and `redirect` forwards a
provider's redirect to the realtime client that started the sign-in.
"""
