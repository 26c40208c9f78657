import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { it } from 'node:test';
import { limitConnections } from './connection-limits.ts';

/** A socket as the 'connection' listener sees it, recording whether it was destroyed. */
function fakeSocket(remoteAddress: string) {
  const socket = Object.assign(new EventEmitter(), {
    remoteAddress,
    destroyed: false,
    destroy() {
      socket.destroyed = true;
      socket.emit('close');
    },
  });
  return socket;
}

function limitedServer(trusted: string[] = []) {
  const server = new EventEmitter() as unknown as Server;
  limitConnections(server, {
    header_timeout_ms: 1000,
    request_timeout_ms: 1000,
    idle_timeout_ms: 1000,
    max_connections: 100,
    max_connections_per_ip: 2,
    trusted_proxies: trusted,
  });
  const connect = (address: string) => {
    const socket = fakeSocket(address);
    server.emit('connection', socket);
    return socket;
  };
  return { server, connect };
}

it('sets the overall cap on the server', () => {
  assert.equal(limitedServer().server.maxConnections, 100);
});

it('counts IPv4 and its IPv4-mapped IPv6 spelling as one client, and frees closed slots', () => {
  const { connect } = limitedServer();
  const first = connect('10.0.0.1');
  connect('::ffff:10.0.0.1');
  assert.equal(connect('10.0.0.1').destroyed, true, 'third from the same address');
  assert.equal(connect('10.0.0.2').destroyed, false, 'another address has its own cap');
  first.emit('close');
  assert.equal(connect('10.0.0.1').destroyed, false, 'a closed connection frees its slot');
});

it('counts an IPv6 /64 as one client', () => {
  const { connect } = limitedServer();
  connect('2001:db8:0:1::a');
  connect('2001:db8:0:1::b');
  assert.equal(connect('2001:db8:0:1:ffff::1').destroyed, true);
  assert.equal(connect('2001:db8:0:2::a').destroyed, false);
});

it('does not cap trusted proxies per address', () => {
  const { connect } = limitedServer(['10.1.0.0/16']);
  const sockets = Array.from({ length: 5 }, () => connect('10.1.2.3'));
  assert.ok(sockets.every((socket) => !socket.destroyed));
});
