import type { Config } from '../../config/schema.ts';
import type { SecretSealer } from '../../identity/tokens/secret-sealer.ts';
import type { SealedEndpoint } from '../endpoints/endpoint-record.ts';
import type { NewAttempt } from './attempt-store.ts';
import { headersOf, type WebhookMessage } from './message.ts';
import { postWebhook, type WebhookPostResult } from './post-webhook.ts';

/** Opened secrets kept in memory at most (an endpoint has one, two during a rotation). */
const MAX_OPENED = 1000;

/** What one send did: the receiver's answer or the failure, and the log row that says so. */
export interface SendOutcome {
  readonly result: WebhookPostResult;
  readonly delivered: boolean;
  /** The receiver asked never to be called again (410 Gone). */
  readonly gone: boolean;
  readonly attempt: NewAttempt;
}

export type SendSettings = Pick<
  Config['webhooks'],
  'timeout_ms' | 'max_response_bytes' | 'allow_private_networks'
>;

/**
 * Signs and sends one message to one endpoint, and describes the attempt for the
 * delivery log. Only a 2xx answer delivers: a redirect is not followed (it could lead
 * anywhere, an internal address included), so a 3xx is a failure like any other.
 */
export function createMessageSender(deps: {
  readonly sealer: SecretSealer;
  readonly settings: SendSettings;
  readonly now?: (() => number) | undefined;
  /** Tests resolve names their own way; the server uses the system resolver. */
  readonly lookup?: Parameters<typeof postWebhook>[3]['lookup'];
}) {
  const now = deps.now ?? Date.now;
  // Opening a sealed secret (HKDF key, AES-GCM) on every send was a tenth of a
  // delivery's CPU: opened ones are kept, by their box (a rotation makes a new box).
  const opened = new Map<string, string>();
  const open = (id: string, box: string): string => {
    const key = `${id}\0${box}`;
    let secret = opened.get(key);
    if (secret === undefined) {
      secret = deps.sealer.open(id, box);
      if (opened.size >= MAX_OPENED) opened.clear();
      opened.set(key, secret);
    }
    return secret;
  };
  const secretsOf = (sealed: SealedEndpoint, atMs: number): string[] => {
    const { endpoint } = sealed;
    const secrets = [open(endpoint.id, sealed.secret_box)];
    const until = endpoint.previous_secret_until_ms;
    if (sealed.previous_secret_box !== null && until !== null && until > atMs) {
      secrets.push(open(endpoint.id, sealed.previous_secret_box));
    }
    return secrets;
  };

  return async function send(
    sealed: SealedEndpoint,
    message: WebhookMessage,
    trigger: NewAttempt['trigger'],
    attempt: number,
  ): Promise<SendOutcome> {
    const at = now();
    const result = await postWebhook(
      sealed.endpoint.url,
      headersOf(message, secretsOf(sealed, at), at),
      message.body,
      {
        timeoutMs: deps.settings.timeout_ms,
        maxResponseBytes: deps.settings.max_response_bytes,
        allowPrivateNetworks: deps.settings.allow_private_networks,
        ...(deps.lookup ? { lookup: deps.lookup } : {}),
      },
    );
    const answered = result.kind === 'response';
    const delivered = answered && result.status >= 200 && result.status < 300;
    return {
      result,
      delivered,
      gone: answered && result.status === 410,
      attempt: {
        endpoint_id: sealed.endpoint.id,
        tenant_id: sealed.endpoint.tenant_id,
        message_id: message.id,
        source: message.source,
        event_id: message.event_id,
        position: message.position,
        type: message.type,
        trigger,
        attempt,
        outcome: delivered ? 'delivered' : 'failed',
        status: answered ? result.status : null,
        latency_ms: result.latencyMs,
        response: answered ? result.body : null,
        error: answered
          ? delivered
            ? null
            : `HTTP ${result.status}`
          : `${result.reason}: ${result.error}`,
        created_ms: at,
      },
    };
  };
}

export type MessageSender = ReturnType<typeof createMessageSender>;
