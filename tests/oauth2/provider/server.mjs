// A real OpenID provider (oidc-provider) on loopback for Satchel's OAuth2 tests.
//
// Usage: node server.mjs CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI...]
// Prints one JSON line {"issuer": ...} once listening on a free 127.0.0.1 port.
//
// No browser: the interaction endpoint signs in the account named by the authorization
// request's `login_hint` and grants what was asked, so following redirects with a cookie jar
// from the authorization URL ends at the redirect URI with a code. Accounts exist for any hint:
// `<sub>@example.com`, verified unless the hint starts with "unverified-".
// `/token-tampered` is the token endpoint with the id token's payload altered after signing.
import http from 'node:http';
import Provider from 'oidc-provider';

const [clientId, clientSecret, ...redirectUris] = process.argv.slice(2);

function account(sub) {
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        email: `${sub}@example.com`,
        email_verified: !sub.startsWith('unverified-'),
        name: `Name ${sub}`,
        preferred_username: sub,
        picture: `https://img.example.invalid/${sub}.png`,
      };
    },
  };
}

function tamper(idToken) {
  const [head, payload, sig] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.sub = `${claims.sub}-forged`;
  return [head, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'picture'],
    },
    conformIdTokenClaims: false,
    cookies: { keys: ['satchel-test-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => account(sub),
  });

  provider.use(async (ctx, next) => {
    if (ctx.path === '/token-tampered') {
      ctx.path = '/token';
      await next();
      if (ctx.body && ctx.body.id_token) ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token) };
      return;
    }
    if (!ctx.path.startsWith('/interaction/')) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session } = details;
    let result;
    if (prompt.name === 'login') {
      if (!params.login_hint) {
        ctx.status = 400;
        ctx.body = 'login_hint required';
        return undefined;
      }
      result = { login: { accountId: params.login_hint } };
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    }
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
    return undefined;
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
