// A real OpenID provider for the SSO tests: the OpenID-certified `oidc-provider` package with
// its development sign-in form (any login, any password). The login decides who you are:
//   ann-admin  → groups [it-admins]        dan-desk → groups [service-desk]
//   ned-nobody → groups []                 ugo-unverified → email_verified false
//   sam-silent → no email_verified claim
// Anything else → groups [] (the email is <login>@example-corp.com).
//
// It also issues JWT access tokens for a resource (RFC 8707 `resource`, the audience) to MCP
// agents, with the client credentials grant: client `<mode>.<login>`, secret `agent-secret`,
// and the token carries that login's email, email_verified and groups as above. Modes:
//   agent   → a fresh token, signed RS256 with the key the JWKS publishes from the start
//   expired → the same, but its iat and exp two hours in the past
//   rotated → signed ES256 with a key the JWKS publishes only after POST /test/rotate
// The login `no-email` gets a token with no email claim.
//   node tests/console/oidc-provider.mjs <redirect uri>
// Prints "ready <issuer url>" once it listens on a random loopback port.
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const [redirectUri] = process.argv.slice(2);
if (!redirectUri) {
  console.error("usage: oidc-provider.mjs <redirect uri>");
  process.exit(2);
}

const GROUPS = { "ann-admin": ["it-admins"], "dan-desk": ["service-desk"] };
const NAMES = { "ann-admin": "Ann Admin", "dan-desk": "Dan Desk", "ned-nobody": "Ned Nobody" };

const AGENT_LOGINS = ["ann-admin", "dan-desk", "ned-nobody", "ugo-unverified", "sam-silent", "zed-unknown", "no-email"];
// Whether a login's email is verified: sam-silent's token does not say.
const verified = (login) => (login === "sam-silent" ? {} : { email_verified: login !== "ugo-unverified" });
const AGENT_MODES = ["agent", "expired", "rotated"];

// Signing keys made here, so the JWKS the provider serves can leave one out until rotation.
function signingKey(type, options, kid, alg) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  const meta = { kid, alg, use: "sig" };
  return {
    private: { ...privateKey.export({ format: "jwk" }), ...meta },
    public: { ...publicKey.export({ format: "jwk" }), ...meta },
  };
}
const current = signingKey("rsa", { modulusLength: 2048 }, "current", "RS256");
const next = signingKey("ec", { namedCurve: "P-256" }, "next", "ES256");
let rotated = false;

const loginOf = (clientId) => clientId.slice(clientId.indexOf(".") + 1);

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
    ...AGENT_MODES.flatMap((mode) =>
      AGENT_LOGINS.map((login) => ({
        client_id: `${mode}.${login}`,
        client_secret: "agent-secret",
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_basic",
      })),
    ),
  ],
  jwks: { keys: [current.private, next.private] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  // Put the scopes' claims in the ID token (lumosflow reads the role claim from it).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Any resource asked for becomes the token's audience, as a JWT.
      async getResourceServerInfo(_ctx, resource, client) {
        const alg = client.clientId.startsWith("rotated.") ? "ES256" : "RS256";
        return { scope: "mcp", audience: resource, accessTokenFormat: "jwt", accessTokenTTL: 600, jwt: { sign: { alg } } };
      },
    },
  },
  async extraTokenClaims(_ctx, token) {
    if (!token.clientId || token.clientId === "lumosflow") return undefined;
    const login = loginOf(token.clientId);
    if (login === "no-email") return { groups: [] };
    return {
      email: `${login}@example-corp.com`,
      ...verified(login),
      groups: GROUPS[login] ?? [],
    };
  },
  formats: {
    customizers: {
      async jwt(_ctx, token, jwt) {
        if (token.clientId?.startsWith("expired.")) {
          jwt.payload.iat -= 7200;
          jwt.payload.exp -= 7200;
        }
      },
    },
  },
  cookies: { keys: ["oidc-test-cookie-key"] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example-corp.com`,
          ...verified(id),
          name: NAMES[id] ?? id,
          groups: GROUPS[id] ?? [],
        };
      },
    };
  },
});
// Plain http on loopback is fine for a test provider.
provider.proxy = true;
const callback = provider.callback();
server.on("request", (req, res) => {
  if (req.method === "POST" && req.url === "/test/rotate") {
    rotated = true;
    res.end("rotated");
    return;
  }
  // Until rotation the published keys leave out the one `rotated.*` tokens are signed with.
  if (req.method === "GET" && req.url === "/jwks" && !rotated) {
    res.setHeader("content-type", "application/jwk-set+json; charset=utf-8");
    res.end(JSON.stringify({ keys: [current.public] }));
    return;
  }
  callback(req, res);
});
console.log(`ready ${issuer}`);
