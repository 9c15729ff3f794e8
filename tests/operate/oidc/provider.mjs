// A real OpenID Connect provider on loopback for tests/operate/test_oidc.py: panva's
// oidc-provider (OpenID Certified), with its own development sign-in pages standing in for an
// organisation's login screen. It listens on a free port, then prints one JSON line naming its
// issuer, so the test knows where it is; it stops on SIGTERM.
//
//   node provider.mjs CLIENT_ID CLIENT_SECRET REDIRECT_URI
import http from 'node:http';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectUri] = process.argv.slice(2);
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: [clientSecret] },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
