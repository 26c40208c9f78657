import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { StoredEvent } from '../../events/model.ts';
import { newSigningSecret } from '../signing/signing-secret.ts';
import { headersOf, messageIdOf, messageOf, pingOf } from './message.ts';

const event: StoredEvent = {
  id: '0190c0de-0000-7000-8000-000000000001',
  tenant_id: 'acme',
  entity_id: 'order-1',
  event_type: 'order.placed',
  version: 0,
  position: 42,
  timestamp: '2026-12-06T10:00:00.000Z',
  payload: { total: 10 },
  metadata: { source: 'web' },
};

describe('webhook messages', () => {
  it('gives an event the same webhook-id every time for an endpoint, another for another endpoint', () => {
    assert.equal(messageIdOf('wh_a', event.id), messageIdOf('wh_a', event.id));
    assert.notEqual(messageIdOf('wh_a', event.id), messageIdOf('wh_b', event.id));
    assert.match(messageIdOf('wh_a', event.id), /^msg_[A-Za-z0-9_-]{27}$/);
  });

  it('wraps an event-store event and a platform event in the documented envelope', () => {
    const stored = JSON.parse(messageOf('wh_a', event, 'events').body);
    assert.deepEqual(stored, {
      type: 'order.placed',
      timestamp: event.timestamp,
      data: {
        id: event.id,
        entity_id: 'order-1',
        event_type: 'order.placed',
        version: 0,
        position: 42,
        timestamp: event.timestamp,
        payload: { total: 10 },
        metadata: { source: 'web' },
      },
    });
    const audit = {
      ...event,
      entity_id: '$audit',
      event_type: 'user.created',
      payload: { action: 'user.created', actor: 'u1' },
    };
    const platform = messageOf('wh_a', audit, 'platform');
    assert.equal(platform.type, 'tessera.user.created');
    assert.deepEqual(JSON.parse(platform.body).data, {
      id: event.id,
      position: 42,
      action: 'user.created',
      actor: 'u1',
    });
    assert.equal(JSON.parse(pingOf('wh_a', 'p1', 0).body).type, 'tessera.webhook.test');
  });

  it('signs so that the standardwebhooks package verifies, with either secret during a rotation', () => {
    const current = newSigningSecret();
    const previous = newSigningSecret();
    const message = messageOf('wh_a', event, 'events');
    const headers = headersOf(message, [current, previous], Date.now());
    assert.equal(headers['webhook-id'], message.id);
    assert.match(headers['webhook-timestamp'] ?? '', /^\d+$/);
    assert.equal(headers['webhook-signature']?.split(' ').length, 2);
    for (const secret of [current, previous]) new Webhook(secret).verify(message.body, headers);
    assert.throws(() => new Webhook(newSigningSecret()).verify(message.body, headers));
    assert.throws(() => new Webhook(current).verify(`${message.body} `, headers), 'a changed body');
  });
});
