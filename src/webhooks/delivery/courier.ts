import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { headersOf } from './message.ts';
import { postWebhook, type WebhookPostOptions, type WebhookPostResult } from './post-webhook.ts';

/** Messages for one endpoint, to be posted in this order. */
export interface Parcel {
  readonly url: string;
  /** The live signing secrets (`whsec_…`): one, or two during a rotation's grace period. */
  readonly secrets: readonly string[];
  readonly messages: readonly { readonly id: string; readonly body: string }[];
  /** No message after the first starts once this long has passed (the log is written meanwhile). */
  readonly budgetMs: number;
}

/** One message's post: the answer or the failure, and when it was signed and sent. */
export interface Posted {
  readonly result: WebhookPostResult;
  readonly sentMs: number;
}

/** Posts parcels: signs each message and sends it (docs/webhooks.md). */
export interface Courier {
  /**
   * Posts the parcel's messages one at a time, in order, and stops after the first
   * one not delivered (what follows it must wait: order per endpoint), or when its
   * budget is spent.
   */
  carry(parcel: Parcel): Promise<Posted[]>;
}

export type CourierSettings = Pick<
  WebhookPostOptions,
  'timeoutMs' | 'maxResponseBytes' | 'allowPrivateNetworks'
>;

/** Only a 2xx answer delivers: a 3xx is not followed (it could lead anywhere), so it fails. */
export function isDelivered(result: WebhookPostResult): boolean {
  return result.kind === 'response' && result.status >= 200 && result.status < 300;
}

/** Idle pooled connections close after this: below the 5 s keep-alive most servers allow. */
const IDLE_CONNECTION_MS = 4000;
/** Idle connections kept per host, and in all: bounded whatever the endpoints. */
const FREE_PER_HOST = 4;
const MAX_CONNECTIONS = 256;

/**
 * Keep-alive pools for webhook posts. A new TCP connection per post was a quarter of a
 * delivery's CPU; every connection is still address-checked as it opens (postWebhook).
 */
export function keepAliveAgents(): { http: Agent; https: HttpsAgent } {
  const options = {
    keepAlive: true,
    timeout: IDLE_CONNECTION_MS,
    maxFreeSockets: FREE_PER_HOST,
    maxTotalSockets: MAX_CONNECTIONS,
    scheduling: 'lifo' as const,
  };
  return { http: new Agent(options), https: new HttpsAgent(options) };
}

/**
 * The courier: posts from this thread, over the given keep-alive pools (else a new
 * connection each), `pace` holding each post back as it sees fit.
 */
export function createCourier(
  settings: CourierSettings,
  extra: { agents?: WebhookPostOptions['agents']; pace?: () => Promise<void> } = {},
): Courier {
  const options: WebhookPostOptions = {
    ...settings,
    ...(extra.agents ? { agents: extra.agents } : {}),
  };
  return { carry: (parcel) => carryParcel(parcel, options, extra.pace) };
}

async function carryParcel(
  parcel: Parcel,
  options: WebhookPostOptions,
  pace: () => Promise<void> = async () => {},
): Promise<Posted[]> {
  const posted: Posted[] = [];
  const startedMs = Date.now();
  for (const message of parcel.messages) {
    await pace();
    const sentMs = Date.now();
    if (posted.length > 0 && sentMs - startedMs >= parcel.budgetMs) break;
    const result = await postWebhook(
      parcel.url,
      headersOf(message, parcel.secrets, sentMs),
      message.body,
      options,
    );
    posted.push({ result, sentMs });
    if (!isDelivered(result)) break;
  }
  return posted;
}
