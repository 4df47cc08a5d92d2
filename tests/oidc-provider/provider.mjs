// node oidc-provider (version pinned in package.json) as a reference authorization server for
// oauthprobe. Serves on 127.0.0.1 only.
//
//   node provider.mjs [PORT] [--write-config FILE] [--exit-with-stdin]
//
// PORT (or env PORT; 0 or none = a free port). Once listening it prints exactly one line to
// stdout:  oidc-provider listening on http://127.0.0.1:PORT
// --write-config FILE (or env OIDC_PROVIDER_WRITE_CONFIG) writes the matching oauthprobe target
// file before that line is printed. --exit-with-stdin ends the server when its stdin closes (so a
// test that dies cannot leave it behind). It also stops on SIGINT and SIGTERM.
//
// OP_LOG_EVENTS=1 logs refused grants, revoked grants and errors to stderr.
// Secrets and the test user come from the environment, with defaults:
//   OP_BASIC_SECRET, OP_POST_SECRET, OP_USERNAME, OP_PASSWORD
// The built-in development login and consent pages (devInteractions) are kept on: the login page
// accepts any login name and password, and the account id is the login name.

import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

// oidc-provider prints its NOTICE lines with console.info (stdout); keep stdout for the one
// "listening" line a test reads, and send everything else to stderr.
console.info = (...a) => console.error(...a);
console.log = (...a) => console.error(...a);

const args = process.argv.slice(2);
let portArg = process.env.PORT ?? '0';
let writeConfig = process.env.OIDC_PROVIDER_WRITE_CONFIG || null;
let exitWithStdin = false;
for (let i = 0; i < args.length; i += 1) {
  const a = args[i];
  if (a === '--write-config') {
    writeConfig = args[(i += 1)];
    if (!writeConfig) usage('--write-config needs a file name');
  } else if (a.startsWith('--write-config=')) {
    writeConfig = a.slice('--write-config='.length);
  } else if (a === '--exit-with-stdin') {
    exitWithStdin = true;
  } else if (a === '--port') {
    portArg = args[(i += 1)];
  } else if (/^\d+$/.test(a)) {
    portArg = a;
  } else {
    usage(`unknown argument ${a}`);
  }
}
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad port ${portArg}`);

function usage(why) {
  process.stderr.write(`provider.mjs: ${why}\nusage: node provider.mjs [PORT] [--write-config FILE] [--exit-with-stdin]\n`);
  process.exit(2);
}

const env = (name, fallback) => process.env[name] || fallback;
const BASIC_SECRET = env('OP_BASIC_SECRET', 'basic-secret-0123456789abcdef0123456789');
const POST_SECRET = env('OP_POST_SECRET', 'post-secret-0123456789abcdef01234567890');
const USERNAME = env('OP_USERNAME', 'alice');
const PASSWORD = env('OP_PASSWORD', 'alice-password-not-checked');

const CLIENTS = {
  basic: { id: 'oauthprobe-basic', secret: BASIC_SECRET, method: 'client_secret_basic' },
  post: { id: 'oauthprobe-post', secret: POST_SECRET, method: 'client_secret_post' },
  public: { id: 'oauthprobe-public', secret: null, method: 'none' },
};
const SCOPE = 'openid profile email offline_access';

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const redirectUri = (name) => `${issuer}/cb/${name}`;

  const configuration = {
    clients: Object.entries(CLIENTS).map(([name, c]) => ({
      client_id: c.id,
      ...(c.secret ? { client_secret: c.secret } : {}),
      token_endpoint_auth_method: c.method,
      redirect_uris: [redirectUri(name)],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            name: 'Alice Example',
            given_name: 'Alice',
            family_name: 'Example',
            preferred_username: id,
            email: `${id}@example.test`,
            email_verified: true,
          };
        },
      };
    },
    // v9: S256 is the only code_challenge_method; `required` decides per request.
    pkce: { required: () => true },
    // offline_access is dropped unless prompt=consent is sent, so do not depend on it.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    cookies: { keys: ['oauthprobe-reference-cookie-key-0123456789'] },
  };

  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());

  // OP_LOG_EVENTS=1: one stderr line per refused grant, revoked grant or error, for debugging.
  if (process.env.OP_LOG_EVENTS) {
    const log = (event) => (ctx, arg1, arg2) => {
      const err = arg1 instanceof Error ? arg1 : arg2 instanceof Error ? arg2 : null;
      const what = err ? `${err.error ?? err.name}: ${err.error_description ?? err.message}${err.cause ? ` (${err.cause.message})` : ''}` : String(arg1 ?? '');
      process.stderr.write(`${new Date().toISOString()} ${event} ${ctx?.method ?? ''} ${ctx?.path ?? ''} ${what}\n`);
    };
    for (const event of ['grant.error', 'grant.revoked', 'authorization.error', 'server_error', 'revocation.error', 'userinfo.error']) {
      provider.on(event, log(event));
    }
  }

  if (writeConfig) {
    const clientToml = (table, name, scope) => {
      const c = CLIENTS[name];
      return [
        `[${table}]`,
        `id = ${JSON.stringify(c.id)}`,
        ...(c.secret ? [`secret = ${JSON.stringify(c.secret)}`] : []),
        `auth_method = ${JSON.stringify(c.method)}`,
        `redirect_uri = ${JSON.stringify(redirectUri(name))}`,
        `scope = ${JSON.stringify(scope)}`,
        '',
      ].join('\n');
    };
    const toml = [
      '# oauthprobe target file for node oidc-provider (tests/oidc-provider/provider.mjs)',
      'name = "oidc-provider"',
      `issuer = ${JSON.stringify(issuer)}`,
      '',
      clientToml('client', 'basic', SCOPE),
      clientToml('second_client', 'post', SCOPE),
      clientToml('public_client', 'public', SCOPE),
      '[login]',
      `username = ${JSON.stringify(USERNAME)}`,
      `password = ${JSON.stringify(PASSWORD)}`,
      '',
    ].join('\n');
    writeFileSync(writeConfig, toml);
  }

  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});

server.on('error', (err) => {
  process.stderr.write(`provider.mjs: ${err.message}\n`);
  process.exit(1);
});

function stop() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (exitWithStdin) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
