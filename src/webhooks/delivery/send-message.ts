import type { SecretSealer } from '../../identity/tokens/secret-sealer.ts';
import type { SealedEndpoint } from '../endpoints/endpoint-record.ts';
import type { NewAttempt } from './attempt-store.ts';
import { type Courier, isDelivered } from './courier.ts';
import type { WebhookMessage } from './message.ts';
import type { WebhookPostResult } from './post-webhook.ts';

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

/**
 * Signs and sends messages to an endpoint, through the courier, and describes each
 * attempt for the delivery log. Only a 2xx answer delivers (`isDelivered`).
 */
export function createMessageSender(deps: {
  readonly sealer: SecretSealer;
  readonly courier: Pick<Courier, 'carry'>;
}) {
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
  /**
   * The live secrets; none when the current one cannot be opened (sealed under another
   * master key). A previous one that cannot be opened is left out: the current signs.
   */
  const secretsOf = (sealed: SealedEndpoint, atMs: number): string[] => {
    const { endpoint } = sealed;
    const tryOpen = (box: string) => {
      try {
        return [open(endpoint.id, box)];
      } catch {
        return [];
      }
    };
    const current = tryOpen(sealed.secret_box);
    const until = endpoint.previous_secret_until_ms;
    if (current.length === 0) return [];
    if (sealed.previous_secret_box !== null && until !== null && until > atMs) {
      return [...current, ...tryOpen(sealed.previous_secret_box)];
    }
    return current;
  };

  /**
   * Sends `messages` in order and stops after the first not delivered: one outcome per
   * message sent. The first is attempt number `attempt` of its message (a retry of a
   * failing head); those after it are first attempts. No message starts after
   * `budgetMs`: the outcomes may then be fewer, all delivered.
   */
  async function sendInOrder(
    sealed: SealedEndpoint,
    messages: readonly WebhookMessage[],
    trigger: NewAttempt['trigger'],
    attempt: number,
    budgetMs = Number.POSITIVE_INFINITY,
  ): Promise<SendOutcome[]> {
    const secrets = secretsOf(sealed, Date.now());
    const [first] = messages;
    if (first && secrets.length === 0) {
      // Nothing can be signed: a failed attempt like any other, so the delivery log says
      // why and the schedule runs (a rotation, sealed under the current key, mends it).
      const result = {
        kind: 'failed' as const,
        reason: 'signing_secret' as const,
        latencyMs: 0,
        error:
          'the signing secret cannot be opened with this server’s master key; rotate the secret',
      };
      return [outcomeOf(sealed, first, result, Date.now(), trigger, attempt)];
    }
    const posted = await deps.courier.carry({
      url: sealed.endpoint.url,
      secrets,
      messages: messages.map(({ id, body }) => ({ id, body })),
      budgetMs,
    });
    return posted.map(({ result, sentMs }, index) =>
      outcomeOf(
        sealed,
        messages[index] as WebhookMessage,
        result,
        sentMs,
        trigger,
        index === 0 ? attempt : 1,
      ),
    );
  }

  return {
    sendInOrder,
    /** Sends one message now (a manual retry, a ping). */
    async send(
      sealed: SealedEndpoint,
      message: WebhookMessage,
      trigger: NewAttempt['trigger'],
      attempt: number,
    ): Promise<SendOutcome> {
      const [outcome] = await sendInOrder(sealed, [message], trigger, attempt);
      if (!outcome) throw new Error('the courier posted nothing');
      return outcome;
    },
  };
}

function outcomeOf(
  sealed: SealedEndpoint,
  message: WebhookMessage,
  result: WebhookPostResult,
  sentMs: number,
  trigger: NewAttempt['trigger'],
  attempt: number,
): SendOutcome {
  const answered = result.kind === 'response';
  const delivered = isDelivered(result);
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
      created_ms: sentMs,
    },
  };
}

export type MessageSender = ReturnType<typeof createMessageSender>;
