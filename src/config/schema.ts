import { type Static, Type } from 'typebox';

/**
 * The configuration schema: one table per section, flat keys inside it, so every
 * setting has exactly one TOML spelling (`[server] port`) and one environment
 * spelling (`TESSERA_SERVER_PORT`). Units live in key names (`_ms`, `_bytes`).
 *
 * Custom annotations read by the loader, `config generate` and `config show`:
 * - `allowed`: human description of valid values, used in error messages;
 * - `secret`: `true` masks the whole value, `'url'` masks only a URL's password.
 */

function oneOf<const T extends readonly string[]>(
  values: T,
  fallback: T[number],
  description: string,
) {
  const schema = Type.Union(
    values.map((value) => Type.Literal(value)),
    { default: fallback, description, allowed: `one of ${values.map((v) => `"${v}"`).join(', ')}` },
  );
  return Type.Unsafe<T[number]>(schema);
}

/** Loose shape check; the CIDR parser gives the precise error. */
const IP_OR_CIDR = '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$';

const ORIGIN = '^(\\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$';
/** An origin without the wildcard: passkeys must name where they may be used. */
const EXACT_ORIGIN = '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$';

const server = Type.Object(
  {
    host: Type.String({
      default: '127.0.0.1',
      minLength: 1,
      description: 'Interface to listen on. Use "0.0.0.0" or "::" to accept remote connections.',
    }),
    port: Type.Integer({
      default: 3900,
      minimum: 1,
      maximum: 65535,
      description: 'TCP port to listen on.',
    }),
    body_limit_bytes: Type.Integer({
      default: 16 * 1024 * 1024,
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      description: 'Largest request body accepted; larger bodies get 413 body_too_large.',
    }),
    max_json_depth: Type.Integer({
      default: 64,
      minimum: 1,
      maximum: 1000,
      description:
        'Deepest nesting of arrays and objects accepted in a JSON request body (event payloads included); deeper bodies get 400 json_too_deep.',
    }),
    header_timeout_ms: Type.Integer({
      default: 10_000,
      minimum: 100,
      maximum: 600_000,
      description:
        'How long a client may take to send the request line and headers, counted from the connection (or the end of the previous request); slower connections are closed. Bounds connections that never send a byte.',
    }),
    request_timeout_ms: Type.Integer({
      default: 60_000,
      minimum: 100,
      maximum: 3_600_000,
      description:
        'How long a client may take to send a whole request (headers and body); slower ones get 408 and are closed. Responses, including SSE and WebSocket streams, are not limited by it. At least header_timeout_ms.',
    }),
    idle_timeout_ms: Type.Integer({
      default: 5000,
      minimum: 100,
      maximum: 600_000,
      description: 'How long an idle keep-alive connection is kept open between requests.',
    }),
    max_connections: Type.Integer({
      default: 1024,
      minimum: 1,
      maximum: 1_000_000,
      description:
        'Most TCP connections open at once (SSE and WebSocket streams included); more are closed at once. Keep it below the process file descriptor limit (ulimit -n).',
    }),
    max_connections_per_ip: Type.Integer({
      default: 64,
      minimum: 1,
      maximum: 1_000_000,
      description:
        'Most TCP connections open at once from one peer address; more are closed at once, so one client cannot take the whole max_connections. Peers listed in trusted_proxies are only counted against max_connections.',
    }),
    shutdown_timeout_ms: Type.Integer({
      default: 10_000,
      minimum: 0,
      maximum: 600_000,
      description:
        'On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut.',
    }),
    cors_origins: Type.Array(Type.String({ pattern: ORIGIN }), {
      default: [],
      description:
        'Browser origins allowed by CORS, e.g. ["https://app.example.com"]. "*" allows any origin. Empty disables CORS.',
      allowed: 'a list of origins like "https://app.example.com", or "*"',
    }),
    hsts_max_age_seconds: Type.Integer({
      default: 15_552_000,
      minimum: 0,
      maximum: 63_072_000,
      description: 'Strict-Transport-Security max-age sent on every response; 0 omits the header.',
    }),
    hsts_include_subdomains: Type.Boolean({
      default: false,
      description: 'Add includeSubDomains to Strict-Transport-Security.',
    }),
    trusted_proxies: Type.Array(Type.String({ pattern: IP_OR_CIDR }), {
      default: [],
      description:
        'Peers (IP addresses or CIDR ranges) whose X-Forwarded-For is believed. The client IP used by rate limits, lockout and IP filters comes from X-Forwarded-For only when the connecting peer is one of these; otherwise it is the peer itself.',
      allowed: 'a list of IPv4 or IPv6 addresses or CIDR ranges, e.g. ["10.0.0.0/8"]',
    }),
    public_url: Type.String({
      default: '',
      pattern: '^(|https?://[^\\s?#]+)$',
      description:
        'The address people reach this server at, used to build the links in emails (verification, password reset, magic links, invitations). Empty: http://<server.host>:<server.port>.',
      allowed: 'empty, or an http(s) URL without query or fragment',
    }),
    ip_filter_refresh_ms: Type.Integer({
      default: 5000,
      minimum: 100,
      maximum: 600_000,
      description:
        "How often a node re-reads the IP filter lists, at most. PostgreSQL announces changes at once; this bounds how long a lost notification or another process's SQLite write could go unseen.",
    }),
  },
  { additionalProperties: false, description: 'HTTP listener and platform behaviour.' },
);

const storage = Type.Object(
  {
    data_dir: Type.String({
      default: './data',
      minLength: 1,
      description: 'Directory for the embedded SQLite database and other local files.',
    }),
    database_url: Type.String({
      default: '',
      pattern: '^(|postgres(ql)?://.+)$',
      secret: 'url',
      description:
        'Empty: embedded SQLite file <data_dir>/tessera.db. A postgres:// URL selects PostgreSQL.',
      allowed: 'empty, or a URL starting with postgres:// or postgresql://',
    }),
    sqlite_synchronous: oneOf(
      ['normal', 'full', 'extra'],
      'full',
      'SQLite PRAGMA synchronous (WAL mode). "full" survives power loss; "normal" survives a process crash only.',
    ),
    sqlite_busy_timeout_ms: Type.Integer({
      default: 5000,
      minimum: 0,
      maximum: 600_000,
      description:
        'How long SQLite waits for a lock held by another process (e.g. the CLI) before failing.',
    }),
    pool_max: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 1000,
      description: 'PostgreSQL: maximum connections in the pool of this process.',
    }),
    max_event_bytes: Type.Integer({
      default: 1024 * 1024,
      minimum: 256,
      maximum: 64 * 1024 * 1024,
      description:
        'Largest payload plus metadata of one event, as JSON bytes; larger events get 413 event_too_large.',
    }),
    max_read_page_bytes: Type.Integer({
      default: 4 * 1024 * 1024,
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      description:
        'Most bytes of JSON one read page (entity events, query, snapshots, audit trail, subscription catch-up) carries, besides its count limit. A page always holds at least one item, however large, and its next_cursor says where to continue.',
    }),
    max_batch_events: Type.Integer({
      default: 10_000,
      minimum: 1,
      maximum: 1_000_000,
      description: 'Most events one append request may carry; more get 413 batch_too_large.',
    }),
    snapshot_every_events: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 1_000_000,
      description:
        'Take a state snapshot of an entity automatically every N events; 0 disables automatic snapshots.',
    }),
    connect_timeout_ms: Type.Integer({
      default: 5000,
      minimum: 100,
      maximum: 600_000,
      description: 'PostgreSQL: how long to wait for a new connection before failing.',
    }),
  },
  { additionalProperties: false, description: 'The database: embedded SQLite or PostgreSQL.' },
);

const redis = Type.Object(
  {
    url: Type.String({
      default: '',
      pattern: '^(|rediss?://.+)$',
      secret: 'url',
      description: 'Redis for state shared between nodes. Empty: single-node mode, no Redis.',
      allowed: 'empty, or a URL starting with redis:// or rediss://',
    }),
  },
  {
    additionalProperties: false,
    description: 'Optional Redis, for what several nodes must share.',
  },
);

const backup = Type.Object(
  {
    dir: Type.String({
      default: '',
      description:
        'Where backups are written and listed (created with mode 0700). Empty: <data_dir>/backups. Several nodes serving GET /api/v1/backups should share it.',
    }),
    interval: Type.String({
      default: '',
      pattern: '^(|[1-9][0-9]{0,5}[smhd])$',
      description:
        'Take a backup this often, e.g. "6h" or "1d" (s, m, h, d). Empty: no scheduled backups. With several nodes on one database, one node takes each.',
      allowed: 'empty, or a positive whole number followed by s, m, h or d',
    }),
    retention_count: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 100_000,
      description:
        'After each scheduled backup (and on `tessera backup prune`), keep the newest this many. 0: no count rule.',
    }),
    retention_days: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 36_500,
      description:
        'After each scheduled backup (and on `tessera backup prune`), keep those younger than this many days. 0: no age rule. With both rules, a backup either rule keeps is kept.',
    }),
    encryption_key: Type.String({
      default: '',
      secret: true,
      pattern: '^(|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?)$',
      description:
        'Encrypt new backups with AES-256-GCM under this key (base64 of 32 random bytes: `openssl rand -base64 32`). Needed to verify or restore them. Empty: not encrypted.',
      allowed: 'empty, or the base64 encoding of exactly 32 bytes',
    }),
    signing_key: Type.String({
      default: '',
      secret: true,
      pattern: '^(|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?)$',
      description:
        'Sign new backups (HMAC-SHA256) with this key, and check backups against it on verify and restore (base64 of 32 random bytes: `openssl rand -base64 32`). Empty: a key derived from the master key. Set it to verify or restore backups where the master key is another one.',
      allowed: 'empty, or the base64 encoding of exactly 32 bytes',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Backups: one file each (a tar of compressed NDJSON tables and a manifest), made by `tessera backup create`, POST /api/v1/backups or on a schedule.',
  },
);

function maxOpen(fallback: number, what: string) {
  return Type.Integer({
    default: fallback,
    minimum: 1,
    maximum: 1_000_000,
    description: what.endsWith('.') ? what : `${what}; more get 429 subscription_limit_reached.`,
  });
}

const subscriptions = Type.Object(
  {
    heartbeat_ms: Type.Integer({
      default: 15_000,
      minimum: 1000,
      maximum: 300_000,
      description: 'Idle live subscriptions (SSE and WebSocket) get a heartbeat this often.',
    }),
    buffer_events: Type.Integer({
      default: 10_000,
      minimum: 10,
      maximum: 1_000_000,
      description:
        'Events a subscriber may fall behind (unsent) before it is closed with a reason; it resumes from its last position.',
    }),
    buffer_bytes: Type.Integer({
      default: 8 * 1024 * 1024,
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      description:
        'Bytes of event JSON one subscriber may hold unsent (its transport backpressured) before it is closed with subscriber_too_slow and its last position; also the most one catch-up read loads (at least one event).',
    }),
    process_buffer_bytes: Type.Integer({
      default: 256 * 1024 * 1024,
      minimum: 1024,
      maximum: 64 * 1024 * 1024 * 1024,
      description:
        'Bytes of event JSON all subscribers of this process together may hold unsent; beyond it the subscribers holding the most are closed (subscriber_too_slow, with their last position) until it is met.',
    }),
    ticket_ttl_seconds: Type.Integer({
      default: 30,
      minimum: 5,
      maximum: 60,
      description:
        'Lifetime of a subscription ticket (POST /api/v1/subscriptions/tickets), which a browser passes as ?ticket= to the SSE and WebSocket routes. Each works once.',
    }),
    max_tickets_per_credential: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 10_000,
      description:
        'Unused, unexpired subscription tickets one API key or login session may hold; more get 429 subscription_ticket_limit_reached until some are used or expire.',
    }),
    max_per_credential: maxOpen(
      50,
      'Open subscriptions (SSE and WebSocket together) one API key or login session may hold on a node; more get 429 subscription_limit_reached.',
    ),
    free_max_per_tenant: maxOpen(
      10,
      'Open subscriptions of a tenant on the free plan, across all nodes when redis.url is set (else per node)',
    ),
    professional_max_per_tenant: maxOpen(
      500,
      'Open subscriptions of a tenant on the professional plan, across all nodes when redis.url is set (else per node)',
    ),
    unlimited_max_per_tenant: maxOpen(
      5000,
      'Open subscriptions of a tenant on the unlimited plan (and any plan without numbers of its own), across all nodes when redis.url is set (else per node)',
    ),
    dev_max_per_tenant: maxOpen(
      5000,
      'Open subscriptions of a tenant on the dev plan, across all nodes when redis.url is set (else per node)',
    ),
  },
  {
    additionalProperties: false,
    description: 'Live event subscriptions (Server-Sent Events and WebSocket).',
  },
);

const auth = Type.Object(
  {
    registration: oneOf(
      ['disabled', 'open', 'invite'],
      'disabled',
      'Self-service sign-up at POST /api/v1/auth/register: "disabled", "open" to anyone, or "invite" (accounts come only from invitations, POST /api/v1/invitations).',
    ),
    registration_tenant: Type.String({
      default: '',
      pattern: '^(|[a-z0-9][a-z0-9-]{0,62})$',
      description:
        'With registration "open": the tenant every new account joins, with registration_role. Empty: the account joins no tenant unless registration_creates_tenant.',
      allowed: 'empty, or a tenant id',
    }),
    registration_role: Type.String({
      default: 'viewer',
      pattern: '^[a-z][a-z0-9_-]{0,62}$',
      description:
        'The role a self-registered account gets in registration_tenant (built-in or one of its custom roles).',
    }),
    registration_creates_tenant: Type.Boolean({
      default: false,
      description:
        'With registration "open": every new account gets its own new tenant on the free plan, as its first admin (registration_tenant is then ignored).',
    }),
    email_verification_ttl_seconds: Type.Integer({
      default: 86_400,
      minimum: 60,
      maximum: 2_592_000,
      description: 'How long an email verification link stays valid.',
    }),
    password_reset_ttl_seconds: Type.Integer({
      default: 1800,
      minimum: 60,
      maximum: 86_400,
      description: 'How long a password reset link stays valid (single use).',
    }),
    magic_link_ttl_seconds: Type.Integer({
      default: 900,
      minimum: 60,
      maximum: 3600,
      description: 'How long a magic sign-in link stays valid (single use).',
    }),
    invitation_ttl_seconds: Type.Integer({
      default: 604_800,
      minimum: 300,
      maximum: 7_776_000,
      description: 'How long an invitation to join a tenant waits for its answer.',
    }),
    password_min_length: Type.Integer({
      default: 8,
      minimum: 8,
      maximum: 256,
      description: 'Shortest password accepted (the longest is 256 characters).',
    }),
    access_token_ttl_seconds: Type.Integer({
      default: 900,
      minimum: 60,
      maximum: 86_400,
      description: 'Lifetime of access tokens (JWT).',
    }),
    refresh_token_ttl_seconds: Type.Integer({
      default: 2_592_000,
      minimum: 300,
      maximum: 31_536_000,
      description: 'Lifetime of a session and its refresh tokens.',
    }),
    refresh_grace_seconds: Type.Integer({
      default: 10,
      minimum: 0,
      maximum: 300,
      description:
        'For this long after a refresh token is used, presenting it again (a second tab, a retried request) returns the same successor, as long as that successor is unused. Later, or once the successor was used, a reuse ends the session. 0: every second use ends it.',
    }),
    key_publish_ahead_seconds: Type.Integer({
      default: 300,
      minimum: 0,
      maximum: 86_400,
      description:
        'How long a new signing key is published in the JWKS before it signs, after `tessera keys rotate`, so verifiers that cache the JWKS (for up to 300 s, its Cache-Control) know it before they see a token it signed. The previous key signs meanwhile. 0: the new key signs at once.',
    }),
    credential_cache_seconds: Type.Integer({
      default: 30,
      minimum: 0,
      maximum: 3600,
      description:
        'How long a node may reuse an API key or session lookup. Changes (revocation, roles, tenant status) take effect at once: PostgreSQL announces them to every node through LISTEN/NOTIFY, and on SQLite a commit by another process empties the cache before the next lookup. This only bounds how long a change could go unseen if a notification were lost. 0: look up on every request.',
    }),
    issuer: Type.String({
      default: '',
      pattern: '^(|https?://[^\\s]+)$',
      description:
        'The "iss" of access tokens and the base URL of /.well-known/*. Empty: http://<server.host>:<server.port>.',
      allowed: 'empty, or an http(s) URL',
    }),
    audience: Type.String({
      default: 'tessera',
      minLength: 1,
      maxLength: 256,
      description: 'The "aud" of access tokens; tokens for another audience are refused.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Identity and tokens. The master key that encrypts signing keys comes from TESSERA_MASTER_KEY (base64, 32 bytes) or <data_dir>/master.key.',
  },
);

const email = Type.Object(
  {
    transport: oneOf(
      ['none', 'log', 'smtp'],
      'none',
      'How email leaves: "none" (routes that must send email answer 503 email_not_configured), "log" (the whole message is written to the server log: local trials only), or "smtp" (smtp_url).',
    ),
    smtp_url: Type.String({
      default: '',
      pattern: '^(|smtps?://.+)$',
      secret: 'url',
      description:
        'The SMTP server: smtp://host:587 (STARTTLS when offered) or smtps://host:465 (TLS from the start). Credentials may be in the URL (smtp://user:pass@host) or in smtp_user and smtp_password.',
      allowed: 'empty, or a URL starting with smtp:// or smtps://',
    }),
    smtp_user: Type.String({ default: '', description: 'SMTP user, when not in smtp_url.' }),
    smtp_password: Type.String({
      default: '',
      secret: true,
      description: 'SMTP password, when not in smtp_url.',
    }),
    smtp_require_tls: Type.Boolean({
      default: false,
      description:
        'With smtp://: refuse to send unless the server upgrades the connection with STARTTLS.',
    }),
    smtp_timeout_ms: Type.Integer({
      default: 30_000,
      minimum: 100,
      maximum: 600_000,
      description:
        'How long to wait for the SMTP server to connect or answer before the attempt fails (it is retried).',
    }),
    from: Type.String({
      default: 'Tessera <no-reply@localhost>',
      minLength: 3,
      maxLength: 320,
      description: 'The From address of every email, e.g. "Acme <no-reply@acme.example>".',
    }),
    poll_interval_ms: Type.Integer({
      default: 1000,
      minimum: 10,
      maximum: 600_000,
      description:
        'How often a node looks for queued email written by other nodes; its own are sent at once.',
    }),
    retry_base_ms: Type.Integer({
      default: 5000,
      minimum: 10,
      maximum: 3_600_000,
      description:
        'Wait before the first retry of a failed send; each further retry waits twice as long (with jitter), at most retry_max_ms.',
    }),
    retry_max_ms: Type.Integer({
      default: 3_600_000,
      minimum: 10,
      maximum: 86_400_000,
      description: 'Longest wait between two attempts at one email.',
    }),
    max_attempts: Type.Integer({
      default: 20,
      minimum: 1,
      maximum: 1000,
      description:
        'Attempts before an email is given up as failed (a permanent SMTP refusal, 5xx, fails it at once).',
    }),
    lease_ms: Type.Integer({
      default: 60_000,
      minimum: 1000,
      maximum: 3_600_000,
      description:
        'How long a node holds an email it is sending; another node (or this one after a crash) takes it over after that. Longer than smtp_timeout_ms.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Outgoing email (verification, password reset, magic links, invitations), sent from a durable outbox.',
  },
);

const mfa = Type.Object(
  {
    step_up_seconds: Type.Integer({
      default: 300,
      minimum: 30,
      maximum: 86_400,
      description:
        'Where a tenant requires MFA: how recent a second-factor check must be for a sensitive operation (API keys, roles and memberships, passwords and factors, backups, IP filters); older answers 403 step_up_required.',
    }),
    reauthentication_seconds: Type.Integer({
      default: 300,
      minimum: 30,
      maximum: 86_400,
      description:
        'How recent a password or second-factor check must be to enroll a factor (403 reauthentication_required otherwise).',
    }),
    token_ttl_seconds: Type.Integer({
      default: 300,
      minimum: 30,
      maximum: 3600,
      description:
        'How long the mfa_token a login answers (when a second factor is due) stays valid; single use.',
    }),
    totp_issuer: Type.String({
      default: 'Tessera',
      minLength: 1,
      maxLength: 64,
      pattern: '^[^:]+$',
      description:
        'The issuer an authenticator app shows beside a TOTP account (otpauth:// URI); no colon.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Multi-factor sign-in: TOTP, recovery codes and passkeys as second factors, step-up for sensitive operations.',
  },
);

const webauthn = Type.Object(
  {
    rp_id: Type.String({
      default: '',
      maxLength: 253,
      pattern: '^(|[A-Za-z0-9.-]+)$',
      description:
        'The WebAuthn relying party ID: the domain passkeys are bound to (e.g. "acme.example"). Empty: the host of server.public_url.',
      allowed: 'empty, or a domain',
    }),
    rp_name: Type.String({
      default: 'Tessera',
      minLength: 1,
      maxLength: 64,
      description: 'The name a browser shows when it asks to create a passkey.',
    }),
    origins: Type.Array(Type.String({ pattern: EXACT_ORIGIN, maxLength: 2048 }), {
      default: [],
      maxItems: 32,
      allowed: 'a list of origins like "https://app.example.com"',
      description:
        'The exact origins (scheme://host[:port]) a passkey ceremony may come from. Empty: the origin of server.public_url.',
    }),
    challenge_ttl_seconds: Type.Integer({
      default: 300,
      minimum: 30,
      maximum: 3600,
      description: "How long a passkey ceremony's challenge stays valid; single use.",
    }),
  },
  {
    additionalProperties: false,
    description: 'Passkeys (WebAuthn): the relying party and the origins it accepts.',
  },
);

const oauth = Type.Object(
  {
    max_clients_per_tenant: Type.Integer({
      default: 50,
      minimum: 1,
      maximum: 10_000,
      description:
        'How many OAuth clients a tenant may register; one more gets 409 oauth_client_limit_reached.',
    }),
    access_token_ttl_seconds: Type.Integer({
      default: 900,
      minimum: 60,
      maximum: 3600,
      description:
        'The access token lifetime of an OAuth client registered without access_token_ttl_seconds.',
    }),
  },
  {
    additionalProperties: false,
    description: 'The OpenID Provider: its registered OAuth clients.',
  },
);

const sso = Type.Object(
  {
    max_connections_per_tenant: Type.Integer({
      default: 20,
      minimum: 1,
      maximum: 1000,
      description:
        'How many SSO connections a tenant may have; one more gets 409 sso_connection_limit_reached.',
    }),
    request_ttl_seconds: Type.Integer({
      default: 600,
      minimum: 60,
      maximum: 3600,
      description:
        'How long a sign-in started at an identity provider may take to come back (its state, nonce and SAML request id are kept this long).',
    }),
    clock_skew_seconds: Type.Integer({
      default: 60,
      minimum: 0,
      maximum: 300,
      description:
        'How far an identity provider’s clock may be off when SAML assertion and OpenID ID token times are checked.',
    }),
    allow_insecure_urls: Type.Boolean({
      default: false,
      description:
        'Accept http:// issuers and SAML sign-in URLs (development and tests only: an identity provider must be reached over https in production).',
    }),
    deprovision_interval_seconds: Type.Integer({
      default: 3600,
      minimum: 10,
      maximum: 86_400,
      description:
        'How often each node looks for members to deactivate under a tenant’s sso_deprovision_days.',
    }),
  },
  {
    additionalProperties: false,
    description: 'Enterprise single sign-on: tenants’ OpenID Connect and SAML identity providers.',
  },
);

const webhooks = Type.Object(
  {
    max_endpoints_per_tenant: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 10_000,
      description:
        'The most webhook endpoints a tenant may have, whatever its max_webhooks quota; one more gets 409 webhook_limit_reached.',
    }),
    timeout_ms: Type.Integer({
      default: 10_000,
      minimum: 100,
      maximum: 60_000,
      description:
        'How long one delivery may take, connection to the end of the answer read; longer is a failed attempt.',
    }),
    retry_schedule_seconds: Type.Array(Type.Integer({ minimum: 0, maximum: 604_800 }), {
      default: [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000],
      minItems: 1,
      maxItems: 50,
      description:
        'The waits between the attempts of an event that fails, each with ±10% jitter; after the last one fails the endpoint is disabled and its tenant’s admins are emailed. The default (Standard Webhooks’ schedule, stretched) spans about three days.',
      allowed: 'a list of whole seconds, e.g. [5, 300, 1800]',
    }),
    secret_grace_seconds: Type.Integer({
      default: 86_400,
      minimum: 0,
      maximum: 2_592_000,
      description:
        'After a signing secret is rotated, how long the old one keeps signing beside the new one (receivers switch over meanwhile).',
    }),
    concurrency: Type.Integer({
      default: 16,
      minimum: 1,
      maximum: 1000,
      description:
        'How many endpoints one node delivers to at once (each endpoint receives one request at a time, in order).',
    }),
    lease_ms: Type.Integer({
      default: 30_000,
      minimum: 1000,
      maximum: 600_000,
      description:
        'How long a node holds an endpoint before renewing its claim; when a node dies, another takes its endpoints over after this. Keep it above timeout_ms.',
    }),
    poll_interval_ms: Type.Integer({
      default: 1000,
      minimum: 50,
      maximum: 60_000,
      description:
        'How often each node looks for endpoints to claim and retries that are due; new events wake it at once.',
    }),
    max_response_bytes: Type.Integer({
      default: 1024,
      minimum: 0,
      maximum: 65_536,
      description:
        'How much of a receiver’s answer is read and kept in the delivery log; the rest is never read.',
    }),
    busy_cpu_share: Type.Number({
      default: 0.05,
      minimum: 0.01,
      maximum: 1,
      description:
        'While this node is busy (its API’s event loop working over a quarter of the time, or other threads and processes keeping over half the machine’s cores working), the webhook delivery thread uses at most this share of one CPU core and walks each endpoint’s log at most once a second: appends keep their pace, and deliveries wait in the log until the load eases. 1 never holds them back.',
    }),
    attempt_retention_days: Type.Integer({
      default: 7,
      minimum: 1,
      maximum: 365,
      description: 'How long the delivery log keeps an attempt.',
    }),
    allow_insecure_urls: Type.Boolean({
      default: false,
      description: 'Accept http:// endpoint URLs (development and tests only).',
    }),
    allow_private_networks: Type.Boolean({
      default: false,
      description:
        'Deliver to loopback, private, link-local and other internal addresses (development and tests only: otherwise any endpoint URL resolving to one is refused at connect time, DNS rebinding included).',
    }),
  },
  {
    additionalProperties: false,
    description: 'Webhooks: signed deliveries of a tenant’s events and platform events.',
  },
);

function perMinute(fallback: number, what: string) {
  return Type.Integer({
    default: fallback,
    minimum: 1,
    maximum: 100_000_000,
    description: `${what}: requests per minute (the bucket's refill rate).`,
  });
}

function burst(fallback: number, what: string) {
  return Type.Integer({
    default: fallback,
    minimum: 1,
    maximum: 100_000_000,
    description: `${what}: burst, the most requests allowed at once (the bucket's size).`,
  });
}

const ledger = Type.Object(
  {
    checkpoint_interval_events: Type.Integer({
      default: 10_000,
      minimum: 1,
      maximum: 100_000_000,
      description:
        'A partition whose chain grew by this many events since its last signed checkpoint is checkpointed (within seconds) by the background job each node runs.',
    }),
    checkpoint_interval_seconds: Type.Integer({
      default: 300,
      minimum: 1,
      maximum: 604_800,
      description:
        'A partition whose chain moved is checkpointed at the latest this long after its last checkpoint, however few events it gained.',
    }),
    verify_batch: Type.Integer({
      default: 5000,
      minimum: 100,
      maximum: 100_000,
      description:
        'Events GET /api/v1/audit/verify checks per request at most; its next_cursor continues from there.',
    }),
    proof_max_events: Type.Integer({
      default: 20_000,
      minimum: 1,
      maximum: 100_000,
      description:
        'The longest chain segment GET /api/v1/ledger/proof serves: the event and the later events of its chain up to a signed checkpoint. Keep it above checkpoint_interval_events, or some events cannot be proved online.',
    }),
    verify_interval_seconds: Type.Integer({
      default: 300,
      minimum: 0,
      maximum: 604_800,
      description:
        'How often each node re-verifies the newest segment of every partition (from its latest checkpoint to its head) in the background; 0 turns it off.',
    }),
    backfill_batch: Type.Integer({
      default: 1000,
      minimum: 1,
      maximum: 100_000,
      description:
        'Events the backfill chains per transaction (at start and `tessera ledger backfill`); appends wait while one runs.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'The tamper-evident ledger: every partition of the event log is a hash chain, with signed checkpoints (docs/ledger.md).',
  },
);

const rate_limits = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description:
        'Apply rate limits (token buckets) to /api/v1. Health and metrics are never limited.',
    }),
    redis_failure: oneOf(
      ['local', 'fail_open', 'fail_closed'],
      'local',
      'When Redis (shared budgets) is unreachable: "local" keeps limiting with this node\'s own buckets, "fail_open" stops limiting, "fail_closed" refuses limited requests with 503. Redis returning restores shared budgets.',
    ),
    ip_per_minute: perMinute(60, 'Per client IP, on routes that need no credentials'),
    ip_burst: burst(60, 'Per client IP, on routes that need no credentials'),
    email_per_hour: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 1_000_000,
      description:
        'Per email address, on login, registration and anything that sends email: requests per hour (the refill rate).',
    }),
    email_burst: burst(10, 'Per email address'),
    free_per_minute: perMinute(60, 'Tenants on the free plan'),
    free_burst: burst(100, 'Tenants on the free plan'),
    professional_per_minute: perMinute(600, 'Tenants on the professional plan'),
    professional_burst: burst(1000, 'Tenants on the professional plan'),
    unlimited_per_minute: perMinute(10_000, 'Tenants on the unlimited plan'),
    unlimited_burst: burst(20_000, 'Tenants on the unlimited plan'),
    dev_per_minute: perMinute(100_000, 'Tenants on the dev plan'),
    dev_burst: burst(200_000, 'Tenants on the dev plan'),
    api_key_per_minute: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 100_000_000,
      description:
        "Per API key, besides its tenant's budget: requests per minute. 0: the numbers of its tenant's plan.",
    }),
    api_key_burst: Type.Integer({
      default: 0,
      minimum: 0,
      maximum: 100_000_000,
      description: "Per API key: burst. 0: the burst of its tenant's plan.",
    }),
  },
  {
    additionalProperties: false,
    description:
      'Rate limits: token buckets per tenant (by plan), per API key, per client IP and per email address. In memory on one node; shared through Redis when redis.url is set.',
  },
);

const lockout = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Lock accounts and slow client IPs after repeated failed logins.',
    }),
    max_failures: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 1000,
      description:
        'Failed logins of one account, or from one client IP, within window_seconds that lock the account or slow the IP.',
    }),
    window_seconds: Type.Integer({
      default: 900,
      minimum: 1,
      maximum: 86_400,
      description: 'The window in which failed logins are counted.',
    }),
    lock_seconds: Type.Integer({
      default: 900,
      minimum: 1,
      maximum: 604_800,
      description:
        'How long a locked account stays locked. While locked, even the right password answers like a wrong one.',
    }),
    ip_delay_ms: Type.Integer({
      default: 1000,
      minimum: 0,
      maximum: 60_000,
      description:
        'Once an IP reaches max_failures, each further login attempt from it waits this long before being answered, doubling with every further failure.',
    }),
    ip_max_delay_ms: Type.Integer({
      default: 10_000,
      minimum: 0,
      maximum: 60_000,
      description: 'The longest wait imposed on a slowed IP.',
    }),
  },
  {
    additionalProperties: false,
    description: 'Brute-force protection of password logins.',
  },
);

const metrics = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Serve Prometheus metrics at GET /metrics.',
    }),
    bearer_token: Type.String({
      default: '',
      secret: true,
      description: 'When set, GET /metrics requires "Authorization: Bearer <token>".',
    }),
  },
  { additionalProperties: false, description: 'Prometheus metrics endpoint.' },
);

const logging = Type.Object(
  {
    level: oneOf(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
      'Minimum level written to the JSON log on stdout.',
    ),
    requests: Type.Boolean({
      default: true,
      description: 'Log one line when each request arrives and one when it completes.',
    }),
  },
  { additionalProperties: false, description: 'Structured JSON logs (pino).' },
);

export const ConfigSchema = Type.Object(
  {
    server,
    storage,
    redis,
    subscriptions,
    auth,
    email,
    mfa,
    webauthn,
    oauth,
    sso,
    webhooks,
    ledger,
    rate_limits,
    lockout,
    backup,
    metrics,
    logging,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type SectionName = keyof Config & string;
