// A real OpenID provider for the SSO tests: the OpenID-certified `oidc-provider` package with
// its development sign-in form (any login, any password). The login decides who you are:
//   ann-admin  → groups [it-admins]        dan-desk → groups [service-desk]
//   ned-nobody → groups []                 ugo-unverified → email_verified false
// Anything else → groups [] (the email is <login>@example-corp.com).
//   node tests/console/oidc-provider.mjs <redirect uri>
// Prints "ready <issuer url>" once it listens on a random loopback port.
import { createServer } from "node:http";
import Provider from "oidc-provider";

const [redirectUri] = process.argv.slice(2);
if (!redirectUri) {
  console.error("usage: oidc-provider.mjs <redirect uri>");
  process.exit(2);
}

const GROUPS = { "ann-admin": ["it-admins"], "dan-desk": ["service-desk"] };
const NAMES = { "ann-admin": "Ann Admin", "dan-desk": "Dan Desk", "ned-nobody": "Ned Nobody" };

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "lumosflow",
      client_secret: "lumosflow-test-secret",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  // Put the scopes' claims in the ID token (lumosflow reads the role claim from it).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["oidc-test-cookie-key"] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example-corp.com`,
          email_verified: id !== "ugo-unverified",
          name: NAMES[id] ?? id,
          groups: GROUPS[id] ?? [],
        };
      },
    };
  },
});
// Plain http on loopback is fine for a test provider.
provider.proxy = true;
server.on("request", provider.callback());
console.log(`ready ${issuer}`);
